"""The request's language: ``dispatch.i18n`` meets Flask here.

Customer-facing routes (``LOCALISED_PREFIXES``) always answer in the caller's language: the
signed-in customer's stored preference, else ``Accept-Language``, else zh-CN. Staff routes keep
their English texts unless the client asks for a language with ``Accept-Language``. Problems
(title, detail, validation messages) are translated here, so services raise English message ids.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from dispatch import errors, i18n

LOCALISED_PREFIXES = ("/api/v1/customer", "/api/v1/public")


def is_localised_route() -> bool:
    return request.path.startswith(LOCALISED_PREFIXES)


def request_locale() -> str:
    """The locale a customer-facing answer is written in (preference > header > zh-CN)."""
    return i18n.negotiate(request.headers.get("Accept-Language"), g.get("locale_preference"))


def problem_locale() -> str | None:
    """The locale of this request's problem texts, or None to keep the English source."""
    if is_localised_route():
        return request_locale()
    if request.headers.get("Accept-Language"):
        return i18n.negotiate(request.headers.get("Accept-Language"))
    return None


def _t(locale: str, text: str, **params: Any) -> str:
    return i18n.gettext(locale, text, **params)


def localise_problem(problem: dict[str, Any], error: errors.DispatchError | None = None) -> dict[str, Any]:
    """Translate a problem's title, detail and validation messages in place (when wanted)."""
    msgid, params = problem.pop("detail_msgid", None), problem.pop("detail_params", {})
    locale = problem_locale()
    if locale is None:
        return problem
    problem["title"] = _t(locale, problem["title"])
    if isinstance(problem.get("errors"), dict):
        problem["errors"] = {field: [_t(locale, m) for m in messages] if isinstance(messages, list) else messages
                             for field, messages in problem["errors"].items()}
    if isinstance(error, errors.ValidationFailed):
        reason = _t(locale, error.reason, **error.reason_params)
        problem["detail"] = f"{error.field}: {reason}"
        problem["errors"] = {error.field: [reason]}
    elif error is not None:
        problem["detail"] = _t(locale, error.msgid, **error.params)
    elif msgid:
        problem["detail"] = _t(locale, msgid, **params)
    return problem


def content_language(response):
    """Say which language a customer-facing answer is in (and that it varies by the header)."""
    if is_localised_route():
        response.headers["Content-Language"] = i18n.language_tag(request_locale())
        response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    app.after_request(content_language)
