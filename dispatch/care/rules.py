"""Pure rules of after-sales care: maintenance due dates, notification back-off and the times
messages announce, the complaint handling flow and its deadlines. No database here; services load rows and ask these functions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.care.models import ComplaintCategory, ComplaintStatus
from dispatch.care.templates import Template
from dispatch.errors import InvalidTransition

# --- maintenance ------------------------------------------------------------------------------

DEFAULT_LEAD_DAYS = 14
"""The maintenance job is created this many days before the due date (the cron task's default)."""


def first_due_on(anchor: date, interval_days: int, today: date) -> date:
    """The first due date of a new plan: ``anchor`` (purchase or last maintenance) + interval.

    A plan created late (a unit activated long ago, never maintained in the system) does not
    start with a backlog of missed cycles: it starts with the first cycle date on or after
    ``today``.
    """
    due = anchor + timedelta(days=interval_days)
    if due >= today:
        return due
    missed = (today - due).days
    cycles = -(-missed // interval_days)  # ceiling division
    return due + timedelta(days=cycles * interval_days)


def next_due_after(done_on: date, interval_days: int) -> date:
    """After a maintenance visit the clock restarts from the day it was done."""
    return done_on + timedelta(days=interval_days)


def creation_horizon(today: date, lead_days: int) -> date:
    """Plans falling due on or before this day get their maintenance job ``today``."""
    return today + timedelta(days=lead_days)


# --- notification delivery --------------------------------------------------------------------

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 60
BACKOFF_CAP_S = 6 * 3600
CLAIM_LEASE_S = 300
"""A claimed message is retried after this long if the worker that claimed it died mid-send."""


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 1, 2, 4, 8... minutes, capped."""
    if attempts < 1:
        raise ValueError("backoff() is for a message that failed at least once")
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** (attempts - 1), BACKOFF_CAP_S))


def eta_for(template: str, scheduled_start: datetime | None, now: datetime, tz: ZoneInfo) -> str | None:
    """The arrival time a message about a visit may announce, in the customer's local time (ISO
    8601 with its offset); None when there is none worth giving: no slot, a slot already past, or
    for "on the way" a slot that is not today (the technician left for another day's slot)."""
    if scheduled_start is None or scheduled_start < now:
        return None
    local = scheduled_start.astimezone(tz)
    if template == Template.TECHNICIAN_EN_ROUTE and local.date() != now.astimezone(tz).date():
        return None
    return local.isoformat()


def announces_past_time(template: str, payload: dict[str, Any], now: datetime) -> bool:
    """A "visit scheduled" message whose time passed before it could go out is not sent at all,
    nor a sign-in code that expired while it waited."""
    if template == Template.SIGN_IN_CODE:
        return datetime.fromisoformat(payload["expires_at"]) <= now
    eta = payload.get("eta")
    return template == Template.JOB_SCHEDULED and bool(eta) and datetime.fromisoformat(eta) < now


def current_facts(template: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a message still due says at sending time: an "on the way" ETA already past is left out."""
    eta = payload.get("eta")
    if template == Template.TECHNICIAN_EN_ROUTE and eta and datetime.fromisoformat(eta) < now:
        return payload | {"eta": None}
    return payload


# --- ratings and callbacks --------------------------------------------------------------------

LOW_RATING = 2
"""A rating at or below this opens a callback (回访) item on the point's worklist."""
CALLBACK_DUE_HOURS = 24
"""The point calls an unhappy customer back within this many hours of the rating."""


def needs_callback(score: int) -> bool:
    return score <= LOW_RATING


def callback_due_at(rated_at: datetime) -> datetime:
    return rated_at + timedelta(hours=CALLBACK_DUE_HOURS)


def gives_up(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """After ``attempts`` failed attempts, is the message failed for good?"""
    return attempts >= max_attempts


# --- complaints -------------------------------------------------------------------------------

C = ComplaintStatus

COMPLAINT_FLOW: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    C.RECEIVED: frozenset({C.CLASSIFIED}),
    C.CLASSIFIED: frozenset({C.INVESTIGATING}),
    C.INVESTIGATING: frozenset({C.SOLUTION_PROPOSED}),
    # the customer may turn the proposal down: back to the investigation
    C.SOLUTION_PROPOSED: frozenset({C.RESOLVED, C.INVESTIGATING}),
    # a resolution the customer disputes before closing reopens the investigation
    C.RESOLVED: frozenset({C.CLOSED, C.INVESTIGATING}),
    C.CLOSED: frozenset(),
}

OPEN_COMPLAINT = frozenset({C.RECEIVED, C.CLASSIFIED, C.INVESTIGATING, C.SOLUTION_PROPOSED})
"""Statuses in which the deadline runs (resolved and closed complaints are done)."""

HQ_ONLY_MOVES = frozenset({C.CLASSIFIED, C.CLOSED})
"""The call centre (HQ) classifies and closes; the point may investigate, propose and resolve."""

NOTE_REQUIRED = frozenset({C.SOLUTION_PROPOSED, C.RESOLVED})
"""Proposing a solution and resolving must say what was proposed or done."""

DEFAULT_RESOLVE_HOURS: dict[ComplaintCategory, int] = {
    ComplaintCategory.PRODUCT_QUALITY: 72,
    ComplaintCategory.DELIVERY: 48,
    ComplaintCategory.AFTER_SALES: 48,
    ComplaintCategory.ORDER: 24,
    ComplaintCategory.ACCOUNT_PAYMENT: 24,
}
"""Used when HQ has not set a category's deadline in the complaint_deadlines table."""


def complaint_due_at(received_at: datetime, resolve_within_hours: int) -> datetime:
    """Calendar hours from receipt: the customer's clock does not stop at night or weekends."""
    return received_at + timedelta(hours=resolve_within_hours)


def check_complaint_transition(status: ComplaintStatus, to: ComplaintStatus, reference: str) -> None:
    if to not in COMPLAINT_FLOW[status]:
        raise InvalidTransition(
            f"complaint {reference} is {status.value}; it cannot move to {to.value}",
            allowed=sorted(s.value for s in COMPLAINT_FLOW[status]),
            current=status.value,
        )


def is_overdue(status: ComplaintStatus, due_at: datetime, now: datetime) -> bool:
    return status in OPEN_COMPLAINT and due_at < now


def needs_escalation(status: ComplaintStatus, due_at: datetime, escalated_at: datetime | None,
                     now: datetime) -> bool:
    """Past its deadline, still open, and not escalated yet (escalation happens once)."""
    return escalated_at is None and is_overdue(status, due_at, now)
