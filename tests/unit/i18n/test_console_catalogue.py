"""The console's texts are in the project's gettext catalogues, in both languages: every ``_("...")``
of its templates and every ``gettext("...")`` of its views, and every enum value a template
translates (``_(job.status.value)``)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from dispatch.api.console import i18n as console_i18n
from dispatch.audits.enums import AuditKind, AuditStatus, FindingCode
from dispatch.jobs.rules import JobStatus
from dispatch.network.enums import JobType
from tests.unit.i18n.test_catalogues import catalogue_ids

CONSOLE = Path(console_i18n.__file__).parent


def _extracted() -> set[str]:
    found = set()
    for method_map, keywords in (([("templates/**.html", "jinja2.ext:babel_extract")], {"_": None}),
                                 ([("*.py", "python")], {"gettext": None})):
        for _file, _line, message, _comments, _context in extract_from_dir(
                str(CONSOLE), method_map=method_map, keywords=keywords):
            if isinstance(message, str):
                found.add(message)
    return found


def test_every_console_text_is_in_both_catalogues():
    texts = _extracted()
    assert len(texts) > 150, "the extraction found too little: the templates' _() calls are not seen"
    assert {"Dispatch board", "Sign in"} <= texts
    chinese, english = catalogue_ids("zh_CN"), catalogue_ids("en")
    assert sorted(texts - set(chinese)) == []
    assert sorted(texts - set(english)) == []
    assert [t for t in texts if not chinese[t]] == []


def test_every_value_a_template_translates_is_in_both_catalogues():
    values = {s.value for s in JobStatus} | {t.value for t in JobType}
    for enum in (AuditKind, AuditStatus, FindingCode):
        values |= {v.value for v in enum}
    chinese, english = catalogue_ids("zh_CN"), catalogue_ids("en")
    assert sorted(values - set(chinese)) == [] and sorted(values - set(english)) == []

