"""Domain errors with stable codes. Pure: no HTTP here; dispatch/api/errors.py maps them to statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatch.i18n import N_


class DispatchError(Exception):
    """Base of every error a service raises on purpose.

    ``code`` is a stable kebab slug (it forms the problem ``type`` URI), ``title`` a short
    human summary of the class of problem, ``detail`` the specific explanation, and
    ``extra`` optional machine-readable members added to the problem body
    (e.g. ``{"allowed": [...]}`` for an invalid transition).

    A translatable detail is an English message id with ``{name}`` placeholders and their
    ``params`` (``NotFound("unit {serial} is not registered", params={"serial": s})``): ``detail``
    is the English text; the HTTP edge translates ``title`` and ``msgid`` with ``dispatch.i18n``
    where the caller's language is wanted (the customer routes).
    """

    code = "dispatch-error"
    title = N_("Request could not be processed")

    def __init__(self, detail: str, *, params: Mapping[str, Any] | None = None, **extra: Any) -> None:
        self.msgid = detail
        self.params = dict(params or {})
        self.detail = detail.format_map(self.params) if params else detail
        super().__init__(self.detail)
        self.extra = extra


class NotFound(DispatchError):
    code = "not-found"
    title = N_("Not found")


class Unauthorized(DispatchError):
    code = "unauthorized"
    title = N_("Authentication required")


class Forbidden(DispatchError):
    code = "forbidden"
    title = N_("Not allowed")


class Conflict(DispatchError):
    code = "conflict"
    title = N_("Conflict with the current state")


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = N_("Invalid state transition")


class InsufficientStock(Conflict):
    code = "insufficient-stock"
    title = N_("Not enough stock")


class PreconditionFailed(DispatchError):
    code = "precondition-failed"
    title = N_("Precondition failed")


class RuleViolation(DispatchError):
    """Well-formed input that breaks a business rule (HTTP 422)."""

    code = "rule-violation"
    title = N_("Business rule violated")


class ValidationFailed(RuleViolation):
    """Input rejected by a service-level check of one field; ``field`` names it."""

    code = "validation-error"
    title = N_("Request validation failed")

    def __init__(self, field: str, reason: str, *, params: Mapping[str, Any] | None = None,
                 **extra: Any) -> None:
        text = reason.format_map(params) if params else reason
        super().__init__(f"{field}: {text}", errors={field: [text]}, **extra)
        self.field = field
        self.reason = reason
        self.reason_params = dict(params or {})


class Gone(DispatchError):
    code = "gone"
    title = N_("No longer available")


class PayloadTooLarge(DispatchError):
    code = "payload-too-large"
    title = N_("Payload too large")


class TooManyRequests(DispatchError):
    code = "rate-limited"
    title = N_("Too many requests")


class ServiceUnavailable(DispatchError):
    code = "service-unavailable"
    title = N_("Service temporarily unavailable")
