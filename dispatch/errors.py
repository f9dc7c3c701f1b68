"""Domain errors with stable codes. Pure: no HTTP here; dispatch/api/errors.py maps them to statuses."""

from __future__ import annotations

from typing import Any


class DispatchError(Exception):
    """Base of every error a service raises on purpose.

    ``code`` is a stable kebab slug (it forms the problem ``type`` URI), ``title`` a short
    human summary of the class of problem, ``detail`` the specific explanation, and
    ``extra`` optional machine-readable members added to the problem body
    (e.g. ``{"allowed": [...]}`` for an invalid transition).
    """

    code = "dispatch-error"
    title = "Request could not be processed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DispatchError):
    code = "not-found"
    title = "Not found"


class Unauthorized(DispatchError):
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(DispatchError):
    code = "forbidden"
    title = "Not allowed"


class Conflict(DispatchError):
    code = "conflict"
    title = "Conflict with the current state"


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "Invalid state transition"


class InsufficientStock(Conflict):
    code = "insufficient-stock"
    title = "Not enough stock"


class PreconditionFailed(DispatchError):
    code = "precondition-failed"
    title = "Precondition failed"


class RuleViolation(DispatchError):
    """Well-formed input that breaks a business rule (HTTP 422)."""

    code = "rule-violation"
    title = "Business rule violated"


class ValidationFailed(RuleViolation):
    """Input rejected by a service-level check of one field; ``field`` names it."""

    code = "validation-error"
    title = "Request validation failed"

    def __init__(self, field: str, reason: str, **extra: Any) -> None:
        super().__init__(f"{field}: {reason}", errors={field: [reason]}, **extra)
        self.field = field


class Gone(DispatchError):
    code = "gone"
    title = "No longer available"


class PayloadTooLarge(DispatchError):
    code = "payload-too-large"
    title = "Payload too large"


class TooManyRequests(DispatchError):
    code = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(DispatchError):
    code = "service-unavailable"
    title = "Service temporarily unavailable"
