"""Translations for every text a person reads: Babel over gettext catalogues, Chinese first.

Catalogues live as plain ``.po`` files in ``dispatch/locale/<locale>/LC_MESSAGES/``; every
``*.po`` file there (one per area: ``customer.po``, ``console.po``, ...) joins the one catalogue
of that locale. They are compiled in memory (Babel's ``read_po`` + ``write_mo``) the first time a
locale is used, so a fresh clone needs no build step and no checked-in ``.mo`` files.

The message id is the English source text with ``{name}`` placeholders (``str.format`` style);
a missing or empty translation falls back to it. Mark a text for extraction without translating
it yet with :func:`N_`. This module never imports Flask: the HTTP glue (reading the request's
``Accept-Language``) lives in ``dispatch.api.i18n``.
"""

from __future__ import annotations

import functools
import io
import threading
from pathlib import Path
from typing import Any

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DEFAULT_LOCALE = "zh_CN"
SUPPORTED_LOCALES = ("zh_CN", "en")
"""Babel identifiers (underscore). The HTTP face uses BCP 47 tags: ``zh-CN``, ``en``."""

LOCALE_DIR = Path(__file__).with_name("locale")

_TRADITIONAL = frozenset({"hant", "tw", "hk", "mo"})
_lock = threading.Lock()


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``msgid`` for extraction; translate it later with :func:`gettext`."""
    return msgid


def normalise(tag: str | None) -> str | None:
    """The supported locale a language tag names (``zh-CN``, ``zh_cn``, ``zh-Hans``, ``zh``,
    ``en-GB`` ...), or None when it names none of them (``zh-TW`` is Traditional: None)."""
    if not tag:
        return None
    parts = [p for p in tag.strip().replace("-", "_").lower().split("_") if p]
    if not parts:
        return None
    language, rest = parts[0], set(parts[1:])
    if language == "zh" and not rest & _TRADITIONAL:
        return "zh_CN"
    if language == "en":
        return "en"
    return None


def language_tag(locale: str) -> str:
    """The BCP 47 tag of a supported locale (``zh_CN`` -> ``zh-CN``), for Content-Language."""
    return locale.replace("_", "-")


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, best first (q-values honoured, q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(weighted)]


def negotiate(accept_language: str | None = None, preference: str | None = None) -> str:
    """The locale to answer in: a stored, supported preference first, then the best supported
    language of the ``Accept-Language`` header, then zh-CN."""
    chosen = normalise(preference)
    if chosen:
        return chosen
    candidates = [loc for loc in (normalise(t) for t in parse_accept_language(accept_language)) if loc]
    return negotiate_locale(candidates, SUPPORTED_LOCALES) or DEFAULT_LOCALE


@functools.cache
def _catalogue(locale: str) -> Translations:
    """Every ``.po`` file of ``locale`` compiled in memory and merged into one Translations."""
    merged = Translations()
    directory = LOCALE_DIR / locale / "LC_MESSAGES"
    for po_path in sorted(directory.glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=po_path.stem)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        merged.merge(Translations(fp=buffer, domain=po_path.stem))
    return merged


def translations(locale: str) -> Translations:
    """The compiled catalogue of a supported locale (unsupported ones get the default's)."""
    locale = normalise(locale) or DEFAULT_LOCALE
    with _lock:
        return _catalogue(locale)


def reload() -> None:
    """Forget compiled catalogues (tests that edit a ``.po`` file, a dev server's reload)."""
    with _lock:
        _catalogue.cache_clear()


def gettext(locale: str | None, msgid: str, **params: Any) -> str:
    """``msgid`` in ``locale`` (zh-CN when None or unsupported), with ``{name}`` placeholders
    filled from ``params``. A missing translation falls back to the English ``msgid``."""
    text = translations(locale or DEFAULT_LOCALE).gettext(msgid)
    return text.format_map(params) if params else text


def messages(locale: str) -> dict[str, str]:
    """Every (msgid -> translated text) pair of ``locale``; for catalogue checks and clients that
    fetch the strings of a page at once."""
    return {str(k): str(v) for k, v in translations(locale)._catalog.items() if isinstance(k, str) and k}
