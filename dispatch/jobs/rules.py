"""Pure rules of a job's life: the state machine, who may move a job where, the SLA maths and the
assignment rules. No database session here: services load the rows and ask these functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatch.errors import InvalidTransition
from dispatch.network import rules as network_rules
from dispatch.network.models import JobType, ProductCategory, Technician


class JobStatus(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """1 (low) .. 4 (urgent), for solvers and sorting."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 3, Priority.URGENT: 4}


class SlaStatus(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"


S = JobStatus

# Plain transitions (POST /jobs/{id}/transitions, the mobile sync). The other edges of the lifecycle
# need more than a target status and have their own operations: intake (new -> dispatched),
# assignment (-> scheduled, see ASSIGNABLE) and HQ transfer (-> dispatched at another point, see
# TRANSFERABLE).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.NEW: frozenset({S.CANCELLED}),
    S.DISPATCHED: frozenset({S.CANCELLED}),
    # back to dispatched = unschedule: the technician is released and the point plans again
    S.SCHEDULED: frozenset({S.EN_ROUTE, S.ON_HOLD, S.DISPATCHED, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.ON_SITE: frozenset({S.COMPLETED, S.ON_HOLD, S.CANCELLED}),
    # resume where the work stopped (or replan it, or release it)
    S.ON_HOLD: frozenset({S.SCHEDULED, S.EN_ROUTE, S.ON_SITE, S.DISPATCHED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

#: How long ago a visit may start and still be booked (a manager recording a call-out just begun).
PAST_GRACE = timedelta(minutes=15)


def in_the_past(start: datetime, now: datetime) -> bool:
    """A slot starting before ``now`` minus :data:`PAST_GRACE` cannot be booked any more."""
    return start < now - PAST_GRACE


ASSIGNABLE = frozenset({S.DISPATCHED, S.SCHEDULED, S.ON_HOLD})
"""A technician and a slot can be given (or changed) in these states; the job becomes scheduled."""

TRANSFERABLE = frozenset({S.NEW, S.DISPATCHED, S.SCHEDULED, S.ON_HOLD})
"""HQ may move the job to another point until a technician is on the way."""

FIELD_STATUSES = frozenset({S.EN_ROUTE, S.ON_SITE, S.COMPLETED})
"""Only the assigned technician moves a job into these."""

REASON_REQUIRED = frozenset({S.ON_HOLD, S.CANCELLED, S.DISPATCHED})
"""Moves that stop or undo planned work must say why."""

TERMINAL = frozenset({S.CLOSED, S.CANCELLED})
OPEN = frozenset(s for s in JobStatus if s not in TERMINAL and s != S.COMPLETED)


def allowed_transitions(status: JobStatus) -> list[str]:
    """The plain transitions from ``status``, sorted, as the 409 problem lists them."""
    return sorted(s.value for s in TRANSITIONS[status])


def check_transition(status: JobStatus, to: JobStatus, reference: str = "the job") -> None:
    """Raise InvalidTransition (409, with ``allowed``) unless ``status -> to`` is a plain transition."""
    if to in TRANSITIONS[status]:
        return
    hint = ""
    if to == S.SCHEDULED and status in ASSIGNABLE:
        hint = "; scheduling needs a technician and a slot: POST /jobs/{id}/assignment"
    elif to == S.DISPATCHED and status in TRANSFERABLE:
        hint = "; HQ moves a job to another point with POST /jobs/{id}/transfer"
    raise InvalidTransition(f"{reference} is {status.value}; it cannot move to {to.value}{hint}",
                            allowed=allowed_transitions(status), current=status.value)


def transition_refusal(to: JobStatus, *, is_hq_admin: bool, is_point_manager: bool,
                       is_assigned_technician: bool) -> str | None:
    """Why this caller may not move a job to ``to`` (None when they may).

    Field moves belong to the technician doing the work; holding a job is open to them and to
    whoever runs the point; planning moves (resume to scheduled, unschedule, cancel, close) to
    the point's manager and HQ admins.
    """
    if to in FIELD_STATUSES:
        return None if is_assigned_technician else f"only the assigned technician moves a job to {to.value}"
    if to == S.ON_HOLD:
        if is_assigned_technician or is_point_manager or is_hq_admin:
            return None
        return "only the assigned technician, the point's manager or an HQ admin puts a job on hold"
    if is_point_manager or is_hq_admin:
        return None
    return f"only the point's manager or an HQ admin moves a job to {to.value}"


def trusted_time(recorded_at: datetime | None, *, not_before: datetime | None, now: datetime) -> datetime:
    """The device's clock, kept between the previous event and the server's now.

    An offline technician's arrival counts when it happened, but a wrong or tampered clock cannot
    move an event into the future or before what the server already saw.
    """
    if recorded_at is None:
        return now
    moment = min(recorded_at, now)
    if not_before is not None and moment < not_before:
        return not_before
    return moment


# --- SLA --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaTimes:
    due_at: datetime | None
    at_risk_at: datetime | None
    arrived_at: datetime | None
    cancelled_at: datetime | None
    scheduled_start: datetime | None = None  # the planned start: a projection, not a fact


def sla_deadlines(reported_at: datetime, hours: int, at_risk_hours: int) -> tuple[datetime, datetime]:
    """(due, at risk from): on site within ``hours`` of intake; at risk ``at_risk_hours`` before."""
    due = reported_at + timedelta(hours=hours)
    return due, due - timedelta(hours=at_risk_hours)


def sla_status(times: SlaTimes, now: datetime) -> SlaStatus | None:
    """ok / at_risk / breached at ``now``; None without a target.

    The clock stops at the first arrival on site (or at cancellation of a job never visited):
    breached = not on site by the due time; at risk = still waiting and inside the warning span,
    or planned to start after the due time (the plan says it will be breached).
    The SQL twin of this function is ``dispatch.jobs.service.sla_condition``: keep them together.
    """
    if times.due_at is None:
        return None
    stopped = times.arrived_at or times.cancelled_at
    if stopped is not None:
        return SlaStatus.BREACHED if stopped > times.due_at else SlaStatus.OK
    if now >= times.due_at:
        return SlaStatus.BREACHED
    if times.at_risk_at is not None and now >= times.at_risk_at:
        return SlaStatus.AT_RISK
    if times.scheduled_start is not None and times.scheduled_start > times.due_at:
        return SlaStatus.AT_RISK
    return SlaStatus.OK


# --- assignment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentViolation:
    """The first assignment rule that failed: ``rule`` is a stable slug, ``field`` the input at fault."""

    rule: str
    field: str
    reason: str


def assignment_violation(
    technician: Technician,
    *,
    service_point_id: uuid.UUID | None,
    category: ProductCategory,
    job_type: JobType,
    start: datetime,
    minutes: int,
    tz: ZoneInfo,
) -> AssignmentViolation | None:
    """Check the assignment rules in order; return the first that fails (None when all pass)."""
    if technician.service_point_id != service_point_id:
        return AssignmentViolation("same-point", "technician_id",
                                   "the technician works for another service point")
    if not technician.active:
        return AssignmentViolation("active", "technician_id", "the technician is not active")
    if not network_rules.has_skill(technician, category, job_type):
        return AssignmentViolation("skill", "technician_id",
                                   f"the technician lacks the skill {category.value}/{job_type.value}")
    day = start.astimezone(tz).date()
    if network_rules.valid_certification(technician, category, day) is None:
        return AssignmentViolation("certification", "technician_id",
                                   f"no {category.value} certification valid on {day.isoformat()}")
    if not network_rules.on_shift(technician, start, tz, minutes):
        local = start.astimezone(tz)
        return AssignmentViolation("on-shift", "scheduled_start",
                                   f"the technician is not on shift from {local:%Y-%m-%d %H:%M} "
                                   f"for {minutes} minutes")
    return None
