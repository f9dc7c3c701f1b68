"""The console's language: zh-CN by default, English on request (the language switch's cookie).

The texts live in the project's Babel/gettext catalogues (``dispatch/locale/<locale>/LC_MESSAGES/
console.po``, beside the customer channel's), looked up through :mod:`dispatch.i18n`; templates
call ``_`` and views :func:`gettext`, both this module's. A text without an entry shows in English.
"""

from __future__ import annotations

from flask import request

from dispatch import i18n

LOCALES = tuple(i18n.language_tag(loc) for loc in i18n.SUPPORTED_LOCALES)  # ("zh-CN", "en")
DEFAULT_LOCALE = i18n.language_tag(i18n.DEFAULT_LOCALE)
COOKIE = "console_lang"


def current_locale() -> str:
    """The cookie the language switch sets, else zh-CN (the console's users are in China)."""
    chosen = request.cookies.get(COOKIE) if request else None
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def gettext(message: str, **values: object) -> str:
    """``message`` in the request's language, with ``{name}`` placeholders filled."""
    return i18n.gettext(i18n.normalise(current_locale()), message, **values)
