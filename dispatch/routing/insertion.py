"""Urgent insertion into an applied plan: fit one job in with as little change as possible, and apply it.

A one-day plan's day is read again (jobs may have moved on since the plan), the solver starts
from the applied routes, work under way and locked jobs stay pinned, and jobs already given a
slot outrank the new one. A plan over several days (``date_to``) is the same, day by day: the
job's own window and SLA decide which days it may go on (the days of the plan its window touches,
from today on), and it goes on the earliest of them where it fits, which is also the best for its
SLA due time; only that day is re-planned, every other day of the plan stays as it is. When it
fits no day, the answer is 422 naming each day's reason, and nothing changes.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, InvalidTransition, RuleViolation, ServiceUnavailable, ValidationFailed
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import ServicePoint
from dispatch.routing import RoutingResult
from dispatch.routing.day import PlanningInput, read_day
from dispatch.routing.deadline import SolveCrashed, SolveTimeout
from dispatch.routing.models import PlannedRoute, PlannedStop, PlanStatus, RoutePlan, UnassignedJob
from dispatch.routing.service import (
    PLANNERS,
    _ensure_not_past,
    _ensure_unchanged,
    _goals,
    _load_jobs,
    _load_technicians,
    _schedule,
    _solve,
    _stats,
    _store,
    route_row,
)
from dispatch.routing.views import PlanView, detail_view, load_plan
from dispatch.routing.week import read_days
from dispatch.uow import UnitOfWork


@dataclass(frozen=True)
class SlaOutcome:
    """Whether the inserted job's planned start meets its SLA due time, and if not by how much."""

    due_at: datetime
    met: bool
    breach_minutes: int
    status: str | None  # the job's SLA status now (ok / at_risk / breached)
    detail: str


@dataclass(frozen=True)
class Insertion:
    """What inserting a job did: where it went, which other jobs moved, its SLA, and the plan now."""

    job_id: uuid.UUID
    technician_id: uuid.UUID
    sequence: int
    start_at: datetime
    rescheduled_job_ids: tuple[uuid.UUID, ...]
    plan: PlanView
    sla: SlaOutcome | None = None
    date: date | None = None  # the day of the plan it went on


@dataclass(frozen=True)
class _Day:
    """One day of the plan the job may go on, read for the insertion."""

    k: int  # the plan's day index (0: its first day)
    day: date
    planning: PlanningInput
    initial: dict[str, list[str]]  # that day's applied routes, the solver's warm start


def _sla_outcome(job: Job, start_at: datetime) -> SlaOutcome | None:
    """The SLA verdict of a job planned to start at ``start_at`` (``None`` without an SLA)."""
    due = job.sla_due_at
    if due is None:
        return None
    status = job.sla_status
    late_s = (start_at - due).total_seconds()
    if late_s <= 0:
        return SlaOutcome(due, True, 0, status and status.value, "the planned start meets the SLA due time")
    minutes = math.ceil(late_s / 60)
    return SlaOutcome(
        due, False, minutes, status and status.value,
        f"no technician can be on site by the SLA due time {due.isoformat()} without bumping a promised job; "
        f"the earliest planned start is {start_at.isoformat()}, {minutes} minutes late",
    )


def _open_days(plan: RoutePlan) -> list[int]:
    """The plan's days an insertion may still go on: today and later (one-day plans: 409 if past)."""
    if plan.days == 1:
        _ensure_not_past(plan)
        return [0]
    today = utcnow().astimezone(ZoneInfo(plan.timezone)).date()
    days = [k for k in range(plan.days) if plan.service_day + timedelta(days=k) >= today]
    if not days:
        raise InvalidTransition(f"route plan {plan.id} covers {plan.service_day.isoformat()} to "
                                f"{(plan.service_day + timedelta(days=plan.days - 1)).isoformat()}, all past",
                                current="past")
    return days


def _read_days(session, plan: RoutePlan, job: Job, stops: list[PlannedStop], time_limit_s: int) -> list[_Day]:
    """The open days of the plan on which ``job`` has a window, each read with its routes."""
    point = session.get(ServicePoint, plan.service_point_id)
    tz = ZoneInfo(plan.timezone)
    found = []
    for k in _open_days(plan):
        day = plan.service_day + timedelta(days=k)
        mine = [stop for stop in stops if stop.day == k]
        planning = read_day(session, point, day, tz, now=utcnow(), time_limit_s=time_limit_s, seed=plan.seed,
                            promised=(stop.job_id for stop in mine), meet_sla=(job.id,), goals=_goals(plan))
        if str(job.id) not in planning.jobs:
            continue  # its window does not touch this day
        initial: dict[str, list[str]] = {}
        for stop in mine:
            if not stop.helper:  # a crew's helpers follow its lead
                initial.setdefault(str(stop.technician_id), []).append(str(stop.job_id))
        found.append(_Day(k, day, planning, initial))
    return found


def _fit(days: list[_Day], job_id: uuid.UUID, reference: str, plan: RoutePlan,
         time_limit_s: int) -> tuple[_Day, RoutingResult]:
    """The earliest day the job fits on, and that day's plan with it; 422 naming each day's reason."""
    per_day = max(1.0, time_limit_s / len(days))  # a hard deadline for the whole request
    tried: list[dict[str, str]] = []
    never = False  # the job cannot be planned at all (no map location...), not only not that day
    for candidate in days:
        left_out = {item.job_id: item for item in candidate.planning.off_plan}
        if job_id in left_out:
            never = True
            tried.append({"date": candidate.day.isoformat(), "reason": str(left_out[job_id].reason),
                          "detail": left_out[job_id].detail})
            continue
        try:
            result = _solve(candidate.planning, time_limit_s=per_day, seed=plan.seed,
                            initial_routes=candidate.initial)
        except (SolveTimeout, SolveCrashed) as exc:
            raise ServiceUnavailable(f"the planner did not answer: {exc}; nothing was changed, try again") from exc
        dropped = next((item for item in result.unassigned if item.visit_id == str(job_id)), None) if result else None
        if result is not None and dropped is None:
            return candidate, result
        tried.append({"date": candidate.day.isoformat(),
                      "reason": dropped.reason.value if dropped else "no_technician_on_shift",
                      "detail": dropped.detail if dropped else "nobody works that day"})
    if plan.days == 1:
        verb = "cannot be planned" if never else "does not fit into the day"
        raise RuleViolation(f"job {reference} {verb}: {tried[0]['detail']}", reason=tried[0]["reason"])
    raise RuleViolation(
        f"job {reference} fits no day of route plan {plan.id} its window allows: "
        + "; ".join(f"{item['date']}: {item['detail']}" for item in tried),
        reason=tried[0]["reason"], days=tried)


def _store_day(session, plan: RoutePlan, chosen: _Day, result: RoutingResult) -> None:
    """Replace day ``chosen.k`` of a plan over several days with ``result``; the other days stay."""
    k = chosen.k
    positions = dict(session.execute(select(PlannedRoute.technician_id, PlannedRoute.position)
                                     .where(PlannedRoute.plan_id == plan.id, PlannedRoute.day == k)).all())
    following = (session.scalar(select(func.max(PlannedRoute.position)).where(PlannedRoute.plan_id == plan.id))
                 or 0) + 1
    session.execute(delete(PlannedStop).where(PlannedStop.plan_id == plan.id, PlannedStop.day == k))
    session.execute(delete(PlannedRoute).where(PlannedRoute.plan_id == plan.id, PlannedRoute.day == k))
    session.expire(plan, ["routes", "unassigned"])
    routed: set[uuid.UUID] = set()
    for route in result.routes:
        position = positions.get(uuid.UUID(route.technician_id))
        if position is None:
            position, following = following, following + 1
        row = route_row(plan, chosen.planning, route, position, day=k)
        routed |= {stop.job_id for stop in row.stops}
        session.add(row)
    elsewhere = set(session.scalars(select(PlannedStop.job_id).where(PlannedStop.plan_id == plan.id,
                                                                     PlannedStop.day != k)))
    if routed:
        session.execute(delete(UnassignedJob).where(UnassignedJob.plan_id == plan.id,
                                                    UnassignedJob.job_id.in_(routed)))
    listed = set(session.scalars(select(UnassignedJob.job_id).where(UnassignedJob.plan_id == plan.id)))
    position = (session.scalar(select(func.max(UnassignedJob.position)).where(UnassignedJob.plan_id == plan.id))
                or 0) + 1
    left_out = [(item.job_id, str(item.reason), item.detail) for item in chosen.planning.off_plan]
    left_out += [(chosen.planning.jobs[item.visit_id].job_id, item.reason.value, item.detail)
                 for item in result.unassigned]
    for job_id, reason, detail in left_out:
        if job_id in routed | elsewhere | listed:
            continue
        listed.add(job_id)
        session.add(UnassignedJob(plan_id=plan.id, job_id=job_id, position=position, reason=reason, detail=detail,
                                  job_version=chosen.planning.jobs[str(job_id)].version))
        position += 1
    session.flush()


def insert_job(uow: UnitOfWork, actor: Principal, *, plan_id: uuid.UUID, job_id: uuid.UUID,
               time_limit_s: int) -> Insertion:
    """Fit an urgent job into an applied plan with as little change as possible, and apply it.

    The day is read again (jobs may have moved on since the plan), the solver starts from the
    applied routes, work under way and locked jobs stay pinned, and jobs already given a slot
    outrank the new one: if it fits nowhere without dropping one of them, the answer is 422 with
    the reason and nothing changes. Otherwise the new job is scheduled and the jobs whose
    technician or start changed are rescheduled, all in one transaction (409 if anything changed
    while the solver ran). A plan over several days takes the job on the earliest open day its
    window allows and it fits on (the module's doc).

    The new job's SLA due time is a planning goal (:func:`due_on_day`): it goes where it
    meets its due time whenever some technician can without bumping a promised job; otherwise as
    early as it can, and the answer's ``sla`` says so with the projected breach in minutes (the
    job's SLA status is then ``at_risk`` from the plan, ``breached`` once the due time passes).
    """
    actor.require(*PLANNERS)
    with uow:
        session = uow.session
        plan = load_plan(session, actor, plan_id)
        if plan.status != PlanStatus.DONE or plan.applied_at is None:
            raise InvalidTransition(f"route plan {plan_id} is not applied; insert into an applied plan",
                                    current=plan.status.value if plan.applied_at is None else "applied")
        job = jobs_service.get_visible_job(session, actor, job_id, with_events=False)
        if job.service_point_id != plan.service_point_id:
            raise ValidationFailed("job_id", "the job belongs to another service point")
        if job.status != JobStatus.DISPATCHED:
            raise InvalidTransition(f"job {job.reference} is {job.status.value}; only a dispatched job is inserted",
                                    allowed=[JobStatus.DISPATCHED.value], current=job.status.value)
        stops = list(session.scalars(select(PlannedStop).where(PlannedStop.plan_id == plan.id)
                                     .order_by(PlannedStop.technician_id, PlannedStop.sequence)))
        days = _read_days(session, plan, job, stops, time_limit_s)
        if not days:
            span = plan.service_day.isoformat() if plan.days == 1 else \
                f"any open day of {plan.service_day.isoformat()} to " \
                f"{(plan.service_day + timedelta(days=plan.days - 1)).isoformat()}"
            raise RuleViolation(f"job {job.reference} has no time window on {span}", reason="outside_plan")
        revision = plan.revision
        reference = job.reference
        uow.commit()

    chosen, result = _fit(days, job_id, reference, plan, time_limit_s)
    planning = chosen.planning

    with uow:
        session = uow.session
        plan = load_plan(session, actor, plan_id, for_update=True)
        if plan.revision != revision:
            raise Conflict(f"route plan {plan_id} changed while the insertion was computed; try again")
        jobs = _load_jobs(session, (facts.job_id for facts in planning.jobs.values()))
        _ensure_unchanged(jobs, {facts.job_id: facts.version for facts in planning.jobs.values()})
        if plan.days == 1:
            _store(session, plan, planning, result)
        else:
            _store_day(session, plan, chosen, result)
        new_stops = session.scalars(select(PlannedStop).where(PlannedStop.plan_id == plan.id,
                                                              PlannedStop.day == chosen.k)
                                    .order_by(PlannedStop.technician_id, PlannedStop.sequence)).all()
        technicians = _load_technicians(session, {stop.technician_id for stop in new_stops})
        moved = _schedule(session, actor, plan, new_stops, jobs, technicians,
                          reason=f"urgent insertion of {reference} into route plan {plan.id}")
        placed = next(stop for stop in new_stops if stop.job_id == job_id and not stop.helper)
        now = utcnow()
        sla = _sla_outcome(jobs[job_id], plan.local_time(placed.start_s))
        rescheduled = tuple(j for j in moved if j != job_id)
        plan.revision += 1
        if plan.days == 1:
            plan.input_hash = planning.input_hash
        else:  # the whole span as it stands now (the other days are as they were)
            session.flush()
            point = session.get(ServicePoint, plan.service_point_id)
            plan.input_hash = read_days(session, point, plan.service_day, plan.days, ZoneInfo(plan.timezone),
                                        now=now, time_limit_s=plan.time_limit_s, seed=plan.seed,
                                        goals=_goals(plan)).input_hash
        plan.insertions = [*plan.insertions, {
            "job_id": str(job_id), "at": now.isoformat(), "by": str(actor.user_id),
            "technician_id": str(placed.technician_id), "rescheduled": [str(j) for j in rescheduled],
            "time_limit_s": time_limit_s, "date": chosen.day.isoformat(),
            "sla_breach_minutes": sla.breach_minutes if sla else None,
        }]
        if plan.days == 1:
            plan.stats = {**plan.stats, **{key: value for key, value in _stats(planning, result).items()
                                           if key != "solver"}}
        uow.commit()
        detailed = load_plan(session, actor, plan_id, detail=True)
        return Insertion(job_id=job_id, technician_id=placed.technician_id, sequence=placed.sequence,
                         start_at=plan.local_time(placed.start_s), rescheduled_job_ids=rescheduled,
                         plan=detail_view(detailed, now), sla=sla, date=chosen.day)
