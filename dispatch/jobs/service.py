"""Job use cases: the lifecycle moves (transition, assignment, transfer), reads, SLA targets;
intake (taking a job in and dispatching it) is :mod:`dispatch.jobs.intake`.

Every change of a job (creation, each status change, assignment, transfer) goes through
:func:`change_job`, which asks the other domains' before-hooks (they may refuse), applies the change,
records a :class:`JobEvent`, appends to the tamper-evident log and runs the after-hooks, all in
the caller's transaction. :func:`schedule_job`, :func:`apply_transition` and
:func:`get_visible_job` join a caller's transaction (route-plan apply, mobile sync); the other
public functions are whole use cases with their own unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.clock import local_day_span, local_today, utcnow
from dispatch.clock import zone as clock_zone
from dispatch.db import page
from dispatch.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from dispatch.geo import Location
from dispatch.jobs import calendar, crews, hooks, resolution, rules
from dispatch.jobs.models import (
    DispatchReason,
    EventKind,
    Job,
    JobEvent,
    JobHelper,
    JobStatus,
    Priority,
    SlaStatus,
    SlaTarget,
)
from dispatch.network.models import (
    Coverage,
    Customer,
    JobType,
    Product,
    Region,
    ServicePoint,
    Technician,
    Unit,
)
from dispatch.uow import UnitOfWork

JOB_LOADS = (
    selectinload(Job.service_point),
    selectinload(Job.region),
    selectinload(Job.technician),
    selectinload(Job.customer),
    selectinload(Job.product),
    selectinload(Job.unit),
)

#: What a job's representation reads of its relations (JobSchema), in the job's own query: one
#: LEFT JOIN per many-to-one instead of a query each, and only the columns shown (a region's
#: boundary polygon is never loaded to print its code).
VIEW_LOADS = (
    joinedload(Job.service_point).load_only(ServicePoint.code),
    joinedload(Job.region).load_only(Region.code),
    joinedload(Job.technician).load_only(Technician.name),
    joinedload(Job.customer).load_only(Customer.name, Customer.phone, Customer.grade),
    joinedload(Job.product).load_only(Product.sku, Product.category),
    joinedload(Job.unit).load_only(Unit.serial),
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def require_aware(moment: datetime | None, field: str) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValidationFailed(field, "needs a time zone offset (e.g. 2026-11-24T09:00:00+08:00)")


def is_point_manager(actor: Principal, job: Job) -> bool:
    """True if ``actor`` manages the point the job belongs to."""
    return _is_point_manager(actor, job)


def _is_point_manager(actor: Principal, job: Job) -> bool:
    return actor.role == Role.MANAGER and actor.service_point_id is not None \
        and actor.service_point_id == job.service_point_id


# --- the one path every change takes -----------------------------------------------------------


def change_job(
    session: Session,
    job: Job,
    *,
    kind: EventKind,
    to: JobStatus,
    actor: Principal,
    apply: Callable[[], None] | None = None,
    reason: str = "",
    recorded_at: datetime | None = None,
    location: Location | None = None,
    data: dict[str, Any] | None = None,
    previous_technician_id: uuid.UUID | None = None,
    previous_service_point_id: uuid.UUID | None = None,
    created: bool = False,
    run_hooks: bool = True,
) -> JobEvent:
    """Run the hooks around one change of ``job`` and record it (event + audit log); no commit."""
    now = utcnow()
    data = _jsonable(data or {})
    change = hooks.JobChange(
        session=session, job=job, from_status=None if created else job.status, to_status=to, actor=actor,
        at=now, reason=reason, previous_technician_id=previous_technician_id,
        previous_service_point_id=previous_service_point_id, data=data,
    )
    if run_hooks:
        hooks.run_before(change)
    before = change.from_status
    if apply is not None:
        apply()
    job.status = to
    actor_id = None if actor.user_id == SYSTEM.user_id else actor.user_id
    event = JobEvent(
        seq=max((e.seq for e in job.events), default=0) + 1, kind=kind, from_status=before, to_status=to,
        reason=reason, actor_id=actor_id, at=now, recorded_at=recorded_at,
        lat=location.lat if location else None, lon=location.lon if location else None, data=data,
    )
    job.events.append(event)
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"job {job.reference} was changed by someone else meanwhile; fetch it and retry") from exc
    audit_log.append(
        session, kind=f"job.{kind.value}", subject_id=job.id, actor_id=actor_id,
        payload={"reference": job.reference, "seq": event.seq, "from": before.value if before else None,
                 "to": to.value, "reason": reason, "service_point_id": str(job.service_point_id),
                 "technician_id": str(job.technician_id) if job.technician_id else None,
                 "recorded_at": recorded_at.isoformat() if recorded_at else None, "data": data},
    )
    if run_hooks:
        hooks.run_after(change)
    return event


def record_note(session: Session, job: Job, actor: Principal, *, reason: str, data: dict[str, Any] | None = None,
                apply: Callable[[], None] | None = None) -> JobEvent:
    """A note in the job's history that changes no status (e.g. the customer asked for another
    window, or confirmed the bill): event + audit log, no lifecycle hooks. No commit."""
    if apply is not None:
        apply()
    data = _jsonable(data or {})
    actor_id = None if actor.user_id == SYSTEM.user_id else actor.user_id
    event = JobEvent(seq=max((e.seq for e in job.events), default=0) + 1, kind=EventKind.NOTE,
                     from_status=job.status, to_status=job.status, reason=reason, actor_id=actor_id, at=utcnow(),
                     data=data)
    job.events.append(event)
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"job {job.reference} was changed by someone else meanwhile; fetch it and retry") from exc
    audit_log.append(session, kind="job.note", subject_id=job.id, actor_id=actor_id,
                     payload={"reference": job.reference, "seq": event.seq, "reason": reason, "data": data})
    return event


# --- reads ---------------------------------------------------------------------------------------


def _scope(query, actor: Principal):
    """Managers see their point's jobs, technicians the jobs assigned to them (as the lead or a
    crew helper), HQ everything."""
    if actor.is_hq:
        return query
    if actor.role == Role.TECHNICIAN:
        if actor.technician_id is None:
            return query.where(false())
        helping = select(JobHelper.job_id).where(JobHelper.technician_id == actor.technician_id)
        return query.where(or_(Job.technician_id == actor.technician_id, Job.id.in_(helping)))
    return query.where(Job.service_point_id == actor.service_point_id)


def get_visible_job(session: Session, actor: Principal, job_id: uuid.UUID, *, for_update: bool = False,
                    with_events: bool = True, loads: tuple = JOB_LOADS) -> Job:
    """The job if the caller may see it, else NotFound (no existence leak). Joins the caller's
    transaction; ``for_update`` locks the row for a write."""
    query = _scope(select(Job).where(Job.id == job_id), actor).options(*loads)
    if with_events:
        query = query.options(selectinload(Job.events))
    if for_update:
        query = query.with_for_update(of=Job)
    job = session.scalars(query).one_or_none()
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def get_job(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> Job:
    """One job with its event history."""
    with uow:
        return get_visible_job(uow.session, actor, job_id, loads=VIEW_LOADS)


def sla_condition(status: SlaStatus, now: datetime):
    """SQL twin of :func:`dispatch.jobs.rules.sla_status` (filters run in the database)."""
    due, at_risk_at = Job.sla_due_at, Job.sla_at_risk_at
    stopped = func.coalesce(Job.arrived_at, Job.cancelled_at)
    if status == SlaStatus.BREACHED:
        return and_(due.is_not(None), or_(and_(stopped.is_(None), due <= now), and_(stopped.is_not(None),
                                                                                    stopped > due)))
    planned_late = and_(Job.scheduled_start.is_not(None), Job.scheduled_start > due)
    if status == SlaStatus.AT_RISK:
        return and_(due.is_not(None), stopped.is_(None), due > now,
                    or_(and_(at_risk_at.is_not(None), at_risk_at <= now), planned_late))
    return and_(due.is_not(None), or_(
        and_(stopped.is_not(None), stopped <= due),
        and_(stopped.is_(None), due > now, or_(at_risk_at.is_(None), at_risk_at > now), ~planned_late),
    ))


def visible_jobs(
    actor: Principal,
    *,
    status: list[JobStatus] | None = None,
    date: date | None = None,
    technician_id: uuid.UUID | None = None,
    service_point_id: uuid.UUID | None = None,
    type: JobType | None = None,
    sla: SlaStatus | None = None,
    priority: Priority | None = None,
    tz: ZoneInfo | str | None = None,
    columns: tuple = (Job,),
):
    """The caller's visible jobs, filtered in SQL, ordered by service time: a ``select`` of
    ``columns`` (the whole entity, or a projection of it) for :func:`list_jobs` and
    :func:`dispatch.jobs.listing.list_job_views`.

    ``date`` is the local service day: of the scheduled start, or of the requested window while
    the job is not scheduled yet.
    """
    service_time = func.coalesce(Job.scheduled_start, Job.window_start)
    query = _scope(select(*columns), actor)
    if status:
        query = query.where(Job.status.in_(status))
    if date is not None:
        start, end = local_day_span(date, tz=tz)
        query = query.where(service_time >= start, service_time < end)
    if technician_id is not None:
        query = query.where(Job.technician_id == technician_id)
    if service_point_id is not None:
        query = query.where(Job.service_point_id == service_point_id)
    if type is not None:
        query = query.where(Job.type == type)
    if priority is not None:
        query = query.where(Job.priority == priority)
    if sla is not None:
        query = query.where(sla_condition(sla, utcnow()))
    return query.order_by(func.coalesce(service_time, Job.reported_at), Job.reference)


def list_jobs(uow: UnitOfWork, actor: Principal, *, offset: int = 0, limit: int = 50, **filters) -> tuple[list[Job], int]:
    """The caller's visible jobs as entities (see :func:`visible_jobs` for the filters);
    ``(page, total)``. The API's list reads a projection instead (:mod:`dispatch.jobs.listing`)."""
    with uow:
        return page(uow.session, visible_jobs(actor, **filters).options(*VIEW_LOADS), offset=offset, limit=limit)


# --- intake --------------------------------------------------------------------------------------


def apply_transition(
    session: Session,
    job: Job,
    to: JobStatus,
    actor: Principal,
    *,
    reason: str = "",
    recorded_at: datetime | None = None,
    location: Location | Mapping[str, float] | None = None,
    data: dict[str, Any] | None = None,
) -> JobEvent:
    """Move ``job`` to ``to`` (a plain transition; see ``rules.TRANSITIONS``). No commit.
    ``data`` is kept on the event for the hooks (e.g. ``{"outcome": "no_show"}``).

    409 with ``allowed`` for an illegal move; 403 when the caller may not make it (only the
    assigned technician moves a job through en_route/on_site/completed); 422 when a stop or undo
    has no reason. ``recorded_at`` is the device's clock; the event also keeps the server's time.
    """
    to = JobStatus(to)
    rules.check_transition(job.status, to, f"job {job.reference}")
    if actor.role == Role.REVIEWER:
        raise Forbidden("reviewers audit jobs; they do not move them")
    refusal = rules.transition_refusal(
        to, is_hq_admin=actor.is_admin, is_point_manager=_is_point_manager(actor, job),
        is_assigned_technician=actor.technician_id is not None and actor.technician_id == job.technician_id,
    )
    if refusal:
        raise Forbidden(refusal)
    if to in rules.REASON_REQUIRED and not reason.strip():
        raise ValidationFailed("reason", f"say why the job goes {to.value}")
    require_aware(recorded_at, "recorded_at")
    if isinstance(location, Mapping):
        location = Location(location["lat"], location["lon"])
    now = utcnow()
    last_at = max((e.moment for e in job.events), default=None)
    moment = rules.trusted_time(recorded_at, not_before=last_at, now=now)
    previous_technician_id = job.technician_id

    def apply() -> None:
        if to == JobStatus.ON_SITE and job.arrived_at is None:
            job.arrived_at = moment
        elif to == JobStatus.COMPLETED:
            job.completed_at = moment
        elif to == JobStatus.CLOSED:
            job.closed_at = now
        elif to == JobStatus.CANCELLED:
            job.cancelled_at = now
        elif to == JobStatus.DISPATCHED:  # unschedule: the point plans it again
            job.technician, job.technician_id = None, None
            job.helpers = []
            job.scheduled_start = job.scheduled_end = None
            job.locked = False

    return change_job(session, job, kind=EventKind.TRANSITION, to=to, actor=actor, apply=apply, reason=reason,
                   recorded_at=recorded_at, location=location, previous_technician_id=previous_technician_id,
                   data=data)


def schedule_job(
    session: Session,
    job: Job,
    technician: Technician,
    start: datetime,
    actor: Principal,
    *,
    reason: str = "",
    locked: bool = False,
    tz: ZoneInfo | str | None = None,
    check_calendar: bool = True,
) -> Job:
    """Give ``job`` to ``technician`` from ``start`` for its standard duration. No commit.

    The point's manager (or an HQ admin, or the route planner acting as one) may do it while the
    job is dispatched, scheduled or on hold. The assignment rules are checked in order and the
    first failure is a 422 naming the field and the ``rule`` (same-point, active, skill,
    certification, on-shift); a start more than :data:`rules.PAST_GRACE` ago is a 422 too.
    Giving the job to a different technician needs a ``reason``. The technician's calendar is
    locked and must stay free (:mod:`dispatch.jobs.calendar`, 409 naming the clashing job); a
    caller writing several slots at once (an applied plan) passes ``check_calendar=False`` and
    calls :func:`calendar.ensure_free` once they are all written.
    ``tz`` is the network's local time (pass ``settings.timezone``) for shifts and certificates.
    """
    if not (actor.is_admin or _is_point_manager(actor, job)):
        raise Forbidden("only the point's manager or an HQ admin assigns jobs")
    if job.status not in rules.ASSIGNABLE:
        raise InvalidTransition(
            f"job {job.reference} is {job.status.value}; only dispatched, scheduled or on-hold jobs are assigned",
            allowed=rules.allowed_transitions(job.status), current=job.status.value,
        )
    if start.tzinfo is None:
        raise ValidationFailed("scheduled_start", "needs a time zone offset")
    if rules.in_the_past(start, utcnow()):
        raise ValidationFailed("scheduled_start", f"{start.isoformat()} is in the past", rule="not-in-the-past")
    violation = rules.assignment_violation(
        technician, service_point_id=job.service_point_id, category=job.product.category, job_type=job.type,
        start=start, minutes=job.duration_minutes, tz=clock_zone(tz),
    )
    if violation is not None:
        raise ValidationFailed(violation.field, violation.reason, rule=violation.rule)
    previous = job.technician_id
    if previous is not None and previous != technician.id and not reason.strip():
        raise ValidationFailed("reason", "giving the job to another technician needs a reason",
                               rule="reassignment-reason")
    end = start + timedelta(minutes=job.duration_minutes)
    if check_calendar:
        calendar.lock(session, technician.id)

    def apply() -> None:
        job.technician, job.technician_id = technician, technician.id
        job.scheduled_start, job.scheduled_end, job.locked = start, end, locked

    change_job(session, job, kind=EventKind.ASSIGNMENT, to=JobStatus.SCHEDULED, actor=actor, apply=apply,
            reason=reason, previous_technician_id=previous,
            data={"technician_id": technician.id, "previous_technician_id": previous,
                  "scheduled_start": start, "scheduled_end": end, "locked": locked})
    if check_calendar:
        calendar.ensure_free(session, technician.id, [job.id], tz=clock_zone(tz))
    return job


def transfer(session: Session, job: Job, point: ServicePoint, actor: Principal, *, reason: str,
             tz: ZoneInfo | str | None = None) -> Job:
    """HQ moves ``job`` to ``point``: back to dispatched there, technician and slot cleared. No commit."""
    actor.require(Role.ADMIN)
    if job.status not in rules.TRANSFERABLE:
        raise InvalidTransition(
            f"job {job.reference} is {job.status.value}; only jobs nobody is on the way to can be transferred",
            allowed=rules.allowed_transitions(job.status), current=job.status.value,
        )
    if not reason.strip():
        raise ValidationFailed("reason", "say why the job moves to another point")
    if point.id == job.service_point_id:
        raise ValidationFailed("service_point_id", f"the job is already at {point.code}")
    today = local_today(tz)
    if not point.is_authorised_on(today):
        raise ValidationFailed("service_point_id", f"{point.code} is not an authorised point today")
    category = job.product.category
    if category.value not in (point.categories or []) or job.type.value not in (point.job_types or []):
        raise ValidationFailed("service_point_id",
                               f"{point.code} is not authorised for {category.value} {job.type.value} jobs")
    covers = job.region_id is not None and session.scalar(select(Coverage.service_point_id).where(
        Coverage.service_point_id == point.id, Coverage.region_id == job.region_id,
        Coverage.category == category)) is not None
    place = Location(job.lat, job.lon) if job.lat is not None and job.lon is not None else None
    previous_point, previous_technician = job.service_point, job.technician_id

    def apply() -> None:
        job.service_point, job.service_point_id = point, point.id
        job.technician, job.technician_id = None, None
        job.helpers = []
        job.scheduled_start = job.scheduled_end = None
        job.locked = False
        job.dispatch_reason = DispatchReason.TRANSFER
        job.out_of_area, job.dispatch_distance_km = not covers, resolution.distance_km(place, point)

    change_job(session, job, kind=EventKind.TRANSFER, to=JobStatus.DISPATCHED, actor=actor, apply=apply,
            reason=reason, previous_technician_id=previous_technician,
            previous_service_point_id=previous_point.id if previous_point else None,
            data={"from_service_point_code": previous_point.code if previous_point else None,
                  "to_service_point_code": point.code, "service_point_id": point.id})
    return job


# --- lifecycle use cases (one transaction each) ----------------------------------------------------


def transition_job(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, to: JobStatus, reason: str = "",
                   recorded_at: datetime | None = None, location: Mapping[str, float] | None = None) -> Job:
    """POST /jobs/{id}/transitions: one status change, returned with the job's history."""
    with uow:
        job = get_visible_job(uow.session, actor, job_id, for_update=True)
        apply_transition(uow.session, job, to, actor, reason=reason, recorded_at=recorded_at, location=location)
        uow.commit()
    return job


def assign_job(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, technician_id: uuid.UUID,
               scheduled_start: datetime, reason: str = "", locked: bool = False,
               tz: ZoneInfo | str | None = None, helper_ids: list[uuid.UUID] | None = None) -> Job:
    """POST /jobs/{id}/assignment: the point's manager gives the job a technician and a slot, and a
    crew job its helpers (:mod:`dispatch.jobs.crews`)."""
    with uow:
        job = get_visible_job(uow.session, actor, job_id, for_update=True)
        technician = uow.session.scalar(select(Technician).where(Technician.id == technician_id).options(
            selectinload(Technician.skills), selectinload(Technician.certifications),
            selectinload(Technician.shifts), selectinload(Technician.shift_exceptions)))
        if technician is None:
            raise ValidationFailed("technician_id", f"no technician has the id {technician_id}", rule="same-point")
        helpers = crews.load_technicians(uow.session, helper_ids or [], "helper_ids")
        schedule_job(uow.session, job, technician, scheduled_start, actor, reason=reason, locked=locked, tz=tz)
        crews.book_helpers(uow.session, job, helpers, tz=clock_zone(tz))
        uow.commit()
    return job


def transfer_job(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, service_point_id: uuid.UUID,
                 reason: str, tz: ZoneInfo | str | None = None) -> Job:
    """POST /jobs/{id}/transfer: HQ moves a job to another authorised point."""
    actor.require(Role.ADMIN)
    with uow:
        job = get_visible_job(uow.session, actor, job_id, for_update=True)
        point = uow.session.get(ServicePoint, service_point_id)
        if point is None:
            raise ValidationFailed("service_point_id", f"no service point has the id {service_point_id}")
        transfer(uow.session, job, point, actor, reason=reason, tz=tz)
        uow.commit()
    return job


# --- SLA targets -------------------------------------------------------------------------------------


def list_sla_targets(uow: UnitOfWork, actor: Principal) -> list[SlaTarget]:
    """The whole table (24 rows at most: job type x priority x grade)."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        return list(uow.session.scalars(select(SlaTarget).order_by(
            SlaTarget.job_type, SlaTarget.customer_grade, SlaTarget.priority, SlaTarget.hours)))


def get_sla_target(uow: UnitOfWork, actor: Principal, target_id: uuid.UUID) -> SlaTarget:
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        target = uow.session.get(SlaTarget, target_id)
        if target is None:
            raise NotFound(f"SLA target {target_id} does not exist")
        return target


def update_sla_target(uow: UnitOfWork, actor: Principal, target_id: uuid.UUID, *, hours: int | None = None,
                      at_risk_hours: int | None = None, expected_version: int | None = None) -> SlaTarget:
    """Change a target; jobs already taken in keep the due time fixed at their intake."""
    actor.require(Role.ADMIN)
    with uow:
        target = uow.session.get(SlaTarget, target_id, with_for_update=True)
        if target is None:
            raise NotFound(f"SLA target {target_id} does not exist")
        if expected_version is not None and target.version != expected_version:
            raise PreconditionFailed("the SLA target changed since it was read; fetch it again")
        new_hours = target.hours if hours is None else hours
        new_risk = target.at_risk_hours if at_risk_hours is None else at_risk_hours
        if new_hours <= 0:
            raise ValidationFailed("hours", "must be positive")
        if not 0 <= new_risk < new_hours:
            raise ValidationFailed("at_risk_hours", f"must be at least 0 and less than hours ({new_hours})")
        before = {"hours": target.hours, "at_risk_hours": target.at_risk_hours}
        target.hours, target.at_risk_hours = new_hours, new_risk
        uow.session.flush()
        audit_log.append(uow.session, kind="sla_target.update", subject_id=target.id,
                         actor_id=None if actor.user_id == SYSTEM.user_id else actor.user_id,
                         payload={"key": [target.job_type.value, target.priority.value, target.customer_grade.value],
                                  "before": before, "after": {"hours": new_hours, "at_risk_hours": new_risk}})
        uow.commit()
    return target
