"""The gettext catalogues: negotiation, lookup, and that every text has both languages."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dispatch import i18n

PACKAGE = Path(i18n.__file__).parent
KEYWORDS = {"gettext": (2,), "N_": None, "_t": (2,)}


def catalogue_ids(locale: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for path in sorted((i18n.LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id:
                    assert message.id not in ids, f"{message.id!r} is in two catalogues of {locale}"
                    ids[message.id] = message.string
    return ids


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(("header", "preference", "expected"), [
    (None, None, "zh_CN"),
    ("", None, "zh_CN"),
    ("fr-FR, de;q=0.8", None, "zh_CN"),
    ("en-GB,en;q=0.9,zh-CN;q=0.8", None, "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
    ("en;q=0.3, zh;q=0.9", None, "zh_CN"),
    ("zh-TW, en;q=0.5", None, "en"),
    ("zh-Hans-CN", None, "zh_CN"),
    ("en;q=0, zh", None, "zh_CN"),
    ("en", "zh-CN", "zh_CN"),
    ("zh-CN", "en", "en"),
    ("zh-CN", "klingon", "zh_CN"),
    ("en;q=abc, *", None, "zh_CN"),
])
def test_negotiation_prefers_the_stored_choice_then_the_header_then_chinese(header, preference, expected):
    assert i18n.negotiate(header, preference) == expected


def test_a_text_is_translated_with_its_placeholders_filled():
    assert i18n.gettext("zh_CN", "invalid fields: {fields}", fields="phone") == "以下字段无效：phone"
    assert i18n.gettext("en", "invalid fields: {fields}", fields="phone") == "invalid fields: phone"
    assert i18n.gettext(None, "Not found") == "未找到"
    assert i18n.gettext("fr", "Not found") == "未找到"  # unsupported: the default locale


def test_an_unknown_text_falls_back_to_the_english_source():
    assert i18n.gettext("zh_CN", "no such message {x}", x=1) == "no such message 1"


def test_language_tags_are_bcp47():
    assert [i18n.language_tag(loc) for loc in i18n.SUPPORTED_LOCALES] == ["zh-CN", "en"]
    assert i18n.normalise("ZH_cn") == "zh_CN" and i18n.normalise("en-US") == "en"
    assert i18n.normalise("de") is None and i18n.normalise(None) is None


def test_every_locale_has_the_same_texts_and_chinese_translates_each_one():
    chinese, english = catalogue_ids("zh_CN"), catalogue_ids("en")
    assert set(chinese) == set(english)
    untranslated = [msgid for msgid, text in chinese.items() if not text or text == msgid and re.search("[a-z]{3}", text)]
    assert untranslated == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
def test_translations_keep_every_placeholder(locale):
    wrong = {msgid: text for msgid, text in catalogue_ids(locale).items()
             if text and placeholders(text) != placeholders(msgid)}
    assert wrong == {}


def test_every_text_marked_in_the_code_is_in_the_catalogues():
    marked = {message for _file, _line, message, _comments, _context in
              extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS)
              if isinstance(message, str)}
    assert marked, "the extraction found nothing: the keywords no longer match the code"
    missing = sorted(marked - set(catalogue_ids("zh_CN")))
    assert missing == []


def test_every_locale_compiles_and_a_new_po_file_joins_its_catalogue(tmp_path, monkeypatch):
    for locale in i18n.SUPPORTED_LOCALES:
        assert i18n.messages(locale)
    directory = tmp_path / "zh_CN" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    (directory / "one.po").write_text('msgid "Hello"\nmsgstr "你好"\n', encoding="utf-8")
    (directory / "two.po").write_text('msgid "Bye {name}"\nmsgstr "再见 {name}"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload()
    try:
        assert i18n.gettext("zh_CN", "Hello") == "你好"
        assert i18n.gettext("zh_CN", "Bye {name}", name="李") == "再见 李"
    finally:
        monkeypatch.undo()
        i18n.reload()
    assert i18n.gettext("zh_CN", "Hello") == "Hello"
