"""Crew jobs: work that needs several technicians on site together (a water-heater install, a
heavy unit). ``Job.crew_size`` says how many; the lead is the job's technician (who holds the
skill and certificate, moves the job through en route, on site and completed), the others are its
helpers (:class:`~dispatch.jobs.models.JobHelper`), booked for the same slot. The skill counts for
the crew: a helper needs to belong to the point, be active and on shift, nothing more.

Helpers are written together with the lead's slot (a manager's assignment, an applied route plan),
in the same transaction, and each helper's calendar is locked and checked like the lead's
(:mod:`dispatch.jobs.calendar`), so a crew is never booked twice either.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.principal import Principal
from dispatch.errors import Forbidden, InvalidTransition, ValidationFailed
from dispatch.jobs import calendar, rules
from dispatch.jobs.enums import EventKind
from dispatch.jobs.models import Job, JobHelper, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network.models import Technician
from dispatch.uow import UnitOfWork

#: Largest crew a job may ask for.
MAX_CREW = 4
#: The crew size may change while the job holds no slot yet.
RESIZABLE = (JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.ON_HOLD)


def load_technicians(session: Session, technician_ids: Sequence[uuid.UUID], field: str) -> list[Technician]:
    """The technicians with these ids (shifts loaded), in order; 422 on ``field`` for an unknown one."""
    rows = {
        row.id: row
        for row in session.scalars(
            select(Technician).where(Technician.id.in_(list(technician_ids))).options(
                selectinload(Technician.shifts), selectinload(Technician.shift_exceptions))
        )
    }
    missing = [str(i) for i in technician_ids if i not in rows]
    if missing:
        raise ValidationFailed(field, f"no technician has the id {missing[0]}", rule="same-point")
    return [rows[i] for i in technician_ids]


def helper_violation(helper: Technician, job: Job, start: datetime, tz: tzinfo) -> rules.AssignmentViolation | None:
    """The first rule a helper breaks for ``job`` from ``start`` (no skill or certificate needed)."""
    if helper.service_point_id != job.service_point_id:
        return rules.AssignmentViolation("same-point", "helper_ids", "a helper works for another service point")
    if not helper.active:
        return rules.AssignmentViolation("active", "helper_ids", f"helper {helper.name} is not active")
    if not network_rules.on_shift(helper, start, tz, job.duration_minutes):
        local = start.astimezone(tz)
        return rules.AssignmentViolation(
            "on-shift", "helper_ids",
            f"helper {helper.name} is not on shift from {local:%Y-%m-%d %H:%M} for {job.duration_minutes} minutes",
        )
    return None


def book_helpers(session: Session, job: Job, helpers: Sequence[Technician], *, tz: ZoneInfo,
                 check_calendar: bool = True) -> None:
    """Give the scheduled ``job`` (lead and slot already written) exactly these helpers. No commit.

    422 on ``helper_ids`` when the count does not make the crew (``crew_size - 1``), a helper is
    listed twice or is the lead, or breaks a rule (:func:`helper_violation`); 409 when a helper is
    booked elsewhere then (unless ``check_calendar`` is off: the caller then checks every
    calendar it touched once all slots are written).
    """
    ids = [helper.id for helper in helpers]
    if len(ids) != job.crew_size - 1:
        raise ValidationFailed(
            "helper_ids", f"job {job.reference} needs a crew of {job.crew_size}: give {job.crew_size - 1} "
            f"helper(s), got {len(ids)}", rule="crew-size")
    if len(set(ids)) != len(ids) or job.technician_id in ids:
        raise ValidationFailed("helper_ids", "each member of the crew is a different technician, the lead included",
                               rule="crew-distinct")
    assert job.scheduled_start is not None
    for helper in helpers:
        violation = helper_violation(helper, job, job.scheduled_start, tz)
        if violation is not None:
            raise ValidationFailed(violation.field, violation.reason, rule=violation.rule)
    if check_calendar:
        for helper_id in sorted(ids):
            calendar.lock(session, helper_id)
    wanted = set(ids)
    job.helpers = [h for h in job.helpers if h.technician_id in wanted] + [
        JobHelper(job_id=job.id, technician_id=i) for i in ids if i not in set(job.helper_ids)
    ]
    session.flush()
    if check_calendar:
        for helper_id in sorted(ids):
            calendar.ensure_free(session, helper_id, [job.id], tz=tz)


def change_helpers(session: Session, job: Job, helpers: Sequence[Technician], actor: Principal, *, reason: str,
                   tz: ZoneInfo) -> None:
    """Swap the scheduled crew ``job``'s helpers, its lead and slot unchanged (a helper fell ill).
    Recorded as an assignment event without the lifecycle hooks: the customer's time stands, so
    nobody is told anything new. The caller checks the calendars. No commit."""
    from dispatch.jobs import service  # the jobs service books crews through this module

    previous = [str(i) for i in job.helper_ids]
    book_helpers(session, job, helpers, tz=tz, check_calendar=False)
    service.change_job(session, job, kind=EventKind.ASSIGNMENT, to=job.status, actor=actor, reason=reason,
                       run_hooks=False, data={"helper_ids": [str(h.id) for h in helpers],
                                              "previous_helper_ids": previous})


def resize(session: Session, job: Job, crew_size: int, actor: Principal, *, is_point_manager: bool) -> Job:
    """Set how many technicians the job needs (before it holds a slot). No commit."""
    if not (actor.is_admin or is_point_manager):
        raise Forbidden("only the point's manager or an HQ admin sizes a job's crew")
    if not 1 <= crew_size <= MAX_CREW:
        raise ValidationFailed("crew_size", f"must be between 1 and {MAX_CREW}")
    if job.status not in RESIZABLE:
        raise InvalidTransition(
            f"job {job.reference} is {job.status.value}; the crew is sized before the job is scheduled "
            "(unschedule it first)", current=job.status.value, allowed=[s.value for s in RESIZABLE])
    job.crew_size = crew_size
    job.helpers = []
    return job


def size_crew(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, crew_size: int) -> Job:
    """POST /jobs/{id}/crew: how many technicians the job needs on site together."""
    from dispatch.jobs import service  # the jobs service books crews through this module

    with uow:
        job = service.get_visible_job(uow.session, actor, job_id, for_update=True)
        resize(uow.session, job, crew_size, actor, is_point_manager=service.is_point_manager(actor, job))
        uow.commit()
    return job
