"""Route planning use cases: request a plan, run it (the background task), apply it, and insert an
urgent job into an applied plan.

The pure core (:mod:`dispatch.routing`) knows nothing of the database: :mod:`dispatch.routing.day`
turns one service point's day into a :class:`~dispatch.routing.RoutingProblem`, this module solves
it (never inside a transaction, always under a hard deadline), stores what the solver answers and
hands the planned slots to the jobs service; :mod:`dispatch.routing.views` reads plans back.
"""

from __future__ import annotations

import json
import logging
import math
import time as perf
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import (
    Conflict,
    InvalidTransition,
    RuleViolation,
    ServiceUnavailable,
    ValidationFailed,
)
from dispatch.jobs import calendar, crews
from dispatch.jobs import rules as job_rules
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import ServicePoint
from dispatch.network.models import Technician as TechnicianRow
from dispatch.ports import TaskQueue
from dispatch.routing import Route, RoutingResult, plan_check
from dispatch.routing.day import PlanningInput, read_day
from dispatch.routing.days import DAY_S, MAX_DAYS, technician_and_day
from dispatch.routing.problem import DayGoals
from dispatch.routing.deadline import SolveCrashed, SolveTimeout, solve_within
from dispatch.routing.models import PlannedRoute, PlannedStop, PlanStatus, RoutePlan, UnassignedJob
from dispatch.routing.views import PlanView, detail_view, load_plan, load_point, summary_view
from dispatch.routing.week import read_days
from dispatch.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)

PLAN_ROUTES_TASK = "workers.routing_tasks.plan_routes"

#: A plan may be asked for today (re-plan the rest of the day) up to this many days ahead.
MAX_DAYS_AHEAD = 60
#: How long a run holds its claim beyond the solver's time limit before another run may take over.
LEASE_MARGIN_S = 300
#: Runs that crashed this many times are marked failed instead of being retried again.
MAX_ATTEMPTS = 3
#: Roles that plan and apply (managers for their own point); HQ reviewers may only read.
PLANNERS = (Role.ADMIN, Role.MANAGER)

# --- requesting and running a plan --------------------------------------------------------------


def request_plan(
    uow: UnitOfWork,
    queue: TaskQueue,
    actor: Principal,
    *,
    point_id: uuid.UUID,
    day: date,
    time_limit_s: int,
    seed: int = 0,
    timezone: str,
    balance_weight: float = 0.0,
    wait_cost: float = 0.0,
    last_day: date | None = None,
) -> PlanView:
    """Queue a plan of the point's ``day`` (through ``last_day``: up to a week, one problem) and hand
    it to the background task.

    ``balance_weight`` and ``wait_cost`` are the manager's soft goals for the day
    (:class:`~dispatch.routing.problem.DayGoals`): workload balance between technicians, and idle
    time on duty.

    The same request while an identical plan (same inputs, time limit and seed) is queued or
    running returns that plan instead of starting a second one. A queued one is handed to the
    queue again (same task id: RQ drops the duplicate, but a lost task is revived), and so is one
    whose run died (its lease expired): the task id then carries the attempt count, because RQ
    keeps the id of a failed task for weeks.
    """
    actor.require(*PLANNERS)
    tz = ZoneInfo(timezone)
    with uow:
        session = uow.session
        point = load_point(session, actor, point_id)
        today = utcnow().astimezone(tz).date()
        if day < today:
            raise ValidationFailed("date", f"{day.isoformat()} is in the past; plan today or a later day")
        if day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationFailed("date", f"plans reach at most {MAX_DAYS_AHEAD} days ahead")
        days = _days(day, last_day, today)
        for k in range(days):
            if not point.is_authorised_on(day + timedelta(days=k)):
                raise RuleViolation(f"service point {point.code} is not authorised on "
                                    f"{(day + timedelta(days=k)).isoformat()}")
        goals = DayGoals(wait_cost=wait_cost, balance_weight=balance_weight)
        planning = read_days(session, point, day, days, tz, now=utcnow(), time_limit_s=time_limit_s, seed=seed,
                             goals=goals)
        plan = session.scalar(
            select(RoutePlan).where(
                RoutePlan.service_point_id == point.id,
                RoutePlan.service_day == day,
                RoutePlan.days == days,
                RoutePlan.input_hash == planning.input_hash,
                RoutePlan.status.in_((PlanStatus.QUEUED, PlanStatus.RUNNING)),
            )
        )
        if plan is None:
            plan = RoutePlan(service_point_id=point.id, service_day=day, timezone=timezone,
                             status=PlanStatus.QUEUED, input_hash=planning.input_hash,
                             time_limit_s=time_limit_s, seed=seed, requested_by=actor.user_id,
                             stats={"jobs": len(planning.jobs)}, balance_weight=balance_weight,
                             wait_cost=wait_cost, days=days)
            session.add(plan)
            session.flush()
        if plan.status == PlanStatus.QUEUED or plan.lease_expires_at < utcnow():
            plan_id, task_id = plan.id, f"plan-routes-{plan.id.hex}-{plan.input_hash[:16]}-{plan.attempts}"
            uow.after_commit(lambda: queue.enqueue(PLAN_ROUTES_TASK, str(plan_id), task_id=task_id,
                                                   queue="routing", timeout_s=time_limit_s + 120))
        uow.commit()
        session.refresh(plan)  # the task may already have run (inline queue)
        return summary_view(plan, utcnow())


def _days(first: date, last: date | None, today: date) -> int:
    """How many days a plan from ``first`` through ``last`` covers (422 on ``date_to`` when the
    range is backwards, longer than a week or too far ahead)."""
    if last is None:
        return 1
    if last < first:
        raise ValidationFailed("date_to", f"{last.isoformat()} is before date {first.isoformat()}")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed("date_to", f"a plan covers at most {MAX_DAYS} days (a week)")
    if last > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed("date_to", f"plans reach at most {MAX_DAYS_AHEAD} days ahead")
    return (last - first).days + 1


def run_plan(uow_factory: UowFactory, *, plan_id: uuid.UUID, searches: int = 1) -> str:
    """Solve a queued plan and store its routes; what the background task runs.

    Idempotent: the plan is claimed with a conditional UPDATE (queued, or running with an expired
    lease), so a second run of a finished or live plan does nothing and returns ``"skipped"``.
    Results replace the plan's rows and are stored only while the claim (``attempts``) is still
    ours. Bad data or a solver bug marks the plan failed; database errors propagate so that the
    queue retries once the lease has expired.
    """
    now = utcnow()
    with uow_factory() as uow:
        session = uow.session
        limit = session.scalar(select(RoutePlan.time_limit_s).where(RoutePlan.id == plan_id))
        if limit is None:
            return "skipped"
        claimed = session.execute(
            update(RoutePlan)
            .where(
                RoutePlan.id == plan_id,
                or_(
                    RoutePlan.status == PlanStatus.QUEUED,
                    and_(RoutePlan.status == PlanStatus.RUNNING, RoutePlan.lease_expires_at < now),
                ),
            )
            .values(status=PlanStatus.RUNNING, attempts=RoutePlan.attempts + 1, progress=5,
                    lease_expires_at=now + timedelta(seconds=limit + LEASE_MARGIN_S), updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            uow.commit()
            return "skipped"
        plan = session.get(RoutePlan, plan_id, populate_existing=True)
        token = plan.attempts
        if token > MAX_ATTEMPTS:
            _fail(plan, f"gave up after {MAX_ATTEMPTS} attempts that did not finish")
            uow.commit()
            return PlanStatus.FAILED.value
        point = session.get(ServicePoint, plan.service_point_id)
        started = perf.perf_counter()
        try:
            planning = read_days(session, point, plan.service_day, plan.days, ZoneInfo(plan.timezone), now=now,
                                 time_limit_s=plan.time_limit_s, seed=plan.seed, goals=_goals(plan))
        except SQLAlchemyError:
            raise
        except Exception as exc:  # noqa: BLE001 - bad data is recorded on the plan, not retried
            log.exception("route plan %s: cannot build the problem", plan_id)
            _fail(plan, f"cannot build the problem: {exc}")
            uow.commit()
            return PlanStatus.FAILED.value
        plan.progress = 10
        plan.solve_started_at = utcnow()
        requested_hash = plan.input_hash
        uow.commit()
    build_s = perf.perf_counter() - started

    started = perf.perf_counter()
    try:
        result = _solve(planning, time_limit_s=limit, seed=plan.seed, searches=searches)
        error = None
    except Exception as exc:  # noqa: BLE001 - a solver bug fails this plan; the next request may pass
        log.exception("route plan %s: the solver failed", plan_id)
        result, error = None, f"the solver failed: {type(exc).__name__}: {exc}"
    solve_s = perf.perf_counter() - started

    with uow_factory() as uow:
        session = uow.session
        plan = session.get(RoutePlan, plan_id, with_for_update=True, populate_existing=True)
        if plan is None or plan.status != PlanStatus.RUNNING or plan.attempts != token:
            return "skipped"  # the lease ran out and another run took the plan over
        if error is not None:
            _fail(plan, error)
        else:
            _store(session, plan, planning, result)
            plan.stats = _stats(planning, result) | {
                "build_s": round(build_s, 3),
                "solve_s": round(solve_s, 3),
                "input_changed_since_request": planning.input_hash != requested_hash,
            }
            plan.input_hash = planning.input_hash
            plan.status = PlanStatus.DONE
            plan.progress = 100
            plan.error = None
        plan.finished_at = utcnow()
        plan.lease_expires_at = None
        uow.commit()
        return plan.status.value


def _goals(plan: RoutePlan) -> DayGoals:
    return DayGoals(wait_cost=plan.wait_cost, balance_weight=plan.balance_weight)


def _fail(plan: RoutePlan, error: str) -> None:
    plan.status = PlanStatus.FAILED
    plan.error = error[:2000]
    plan.finished_at = utcnow()
    plan.lease_expires_at = None


def _solve(planning: PlanningInput, *, time_limit_s: float, seed: int,
           initial_routes: Mapping[str, list[str]] | None = None, searches: int = 1) -> RoutingResult | None:
    """Solve under a hard deadline: in a child process killed past the time limit plus a grace
    (:mod:`dispatch.routing.deadline`), so a search that never returns cannot take the worker;
    ``searches`` > 1 runs that many differently seeded searches at once and keeps the best."""
    if planning.problem is None:
        return None
    return solve_within(planning.problem, time_limit_s, seed, initial_routes, searches=searches)


def _stats(planning: PlanningInput, result: RoutingResult | None) -> dict[str, Any]:
    """Figures a manager and an operator look at, JSON-safe."""
    reasons: dict[str, int] = {}
    for item in planning.off_plan:
        reasons[str(item.reason)] = reasons.get(str(item.reason), 0) + 1
    for item in result.unassigned if result else ():
        reasons[item.reason.value] = reasons.get(item.reason.value, 0) + 1
    problem = planning.problem
    return {
        "jobs": len(planning.jobs),
        "served": result.served_count if result else 0,
        "unassigned": sum(reasons.values()),
        "unassigned_by_reason": reasons,
        "technicians": len(problem.technicians) if problem else 0,
        "technicians_used": len(result.used_routes) if result else 0,
        "distance_m": result.distance_m if result else 0,
        "travel_s": result.travel_s if result else 0,
        "objective": result.objective if result else 0,
        "solver": json.loads(json.dumps(result.stats, default=str)) if result else {},
    }


def route_row(plan: RoutePlan, planning: PlanningInput, route: Route, position: int, *,
              day: int | None = None) -> PlannedRoute:
    """One route of the solver's answer as the plan stores it (times from the plan's first
    midnight). ``day``: the plan's day of a one-day answer, whose times count from that day's
    midnight (an insertion into one day of a longer plan); ``None``: the day is in the vehicle id."""
    technician = planning.problem.technician(route.technician_id)
    technician_id, vehicle_day = technician_and_day(route.technician_id)
    shift = 0 if day is None else day * DAY_S
    day = vehicle_day if day is None else day
    stops = []
    for sequence, stop in enumerate(route.stops, start=1):
        job = planning.jobs[stop.visit_id]
        stops.append(PlannedStop(
            job_id=job.job_id, day=day, helper=stop.helper, sequence=sequence, arrival_s=stop.arrival_s + shift,
            start_s=stop.start_s + shift, finish_s=stop.finish_s + shift, travel_s=stop.travel_from_prev_s,
            distance_m=stop.distance_from_prev_m, lat=job.lat, lon=job.lon, job_version=job.version,
            pinned=job.pinned,
        ))
    pause = technician.break_
    return PlannedRoute(
        plan_id=plan.id, technician_id=uuid.UUID(technician_id), day=day, position=position,
        start_lat=technician.start.lat, start_lon=technician.start.lon,
        end_lat=technician.end.lat, end_lon=technician.end.lon,
        shift_start_s=technician.shift_start_s + shift, shift_end_s=technician.shift_end_s + shift,
        start_s=route.start_s + shift, end_s=route.end_s + shift, distance_m=route.distance_m,
        travel_s=route.travel_s,
        break_start_s=None if route.break_start_s is None else route.break_start_s + shift,
        break_s=pause.duration_s if pause is not None and route.break_start_s is not None else 0,
        stops=stops,
    )


def _store(session: Session, plan: RoutePlan, planning: PlanningInput, result: RoutingResult | None) -> None:
    """Replace the plan's routes, stops and unassigned jobs with ``result`` (same rows on a rerun)."""
    session.execute(delete(PlannedStop).where(PlannedStop.plan_id == plan.id))
    session.execute(delete(PlannedRoute).where(PlannedRoute.plan_id == plan.id))
    session.execute(delete(UnassignedJob).where(UnassignedJob.plan_id == plan.id))
    session.expire(plan, ["routes", "unassigned"])
    for position, route in enumerate(result.routes if result is not None else ()):
        session.add(route_row(plan, planning, route, position))
    left_out = [(item.job_id, item.reason, item.detail) for item in planning.off_plan]
    if result is not None:
        left_out += [(planning.jobs[item.visit_id].job_id, item.reason.value, item.detail)
                     for item in result.unassigned]
    for position, (job_id, reason, detail) in enumerate(left_out):
        facts = planning.jobs[str(job_id)]
        session.add(UnassignedJob(plan_id=plan.id, job_id=job_id, position=position, reason=str(reason),
                                  detail=detail, job_version=facts.version))
    session.flush()

# --- applying a plan ----------------------------------------------------------------------------


def _ensure_unchanged(jobs: Mapping[uuid.UUID, Job], versions: Mapping[uuid.UUID, int]) -> None:
    changed = sorted(
        (jobs[job_id].reference if job_id in jobs else str(job_id))
        for job_id, version in versions.items()
        if job_id not in jobs or jobs[job_id].version != version
    )
    if changed:
        raise Conflict(f"{len(changed)} job(s) changed since the plan was made; plan again",
                       changed_jobs=changed)


def _ensure_not_past(plan: RoutePlan) -> None:
    if utcnow().astimezone(ZoneInfo(plan.timezone)).date() > plan.service_day:
        raise InvalidTransition(f"route plan {plan.id} is for {plan.service_day.isoformat()}, a past day",
                                current="past")


def _schedule(session: Session, actor: Principal, plan: RoutePlan, stops: Iterable[PlannedStop],
              jobs: Mapping[uuid.UUID, Job], technicians: Mapping[uuid.UUID, TechnicianRow],
              reason: str) -> list[uuid.UUID]:
    """Give every job of ``stops`` its planned technician (a crew job also its helpers) and start;
    returns the jobs that moved.

    Pinned jobs (under way, or locked by the manager to their slot) are left as they are, and so
    is a job that already has exactly this slot and crew.
    """
    stops = list(stops)
    helpers: dict[uuid.UUID, list[uuid.UUID]] = {}
    for stop in stops:
        if stop.helper:
            helpers.setdefault(stop.job_id, []).append(stop.technician_id)
    leads = [stop for stop in stops if not stop.helper]
    moving: list[PlannedStop] = []
    booked: dict[uuid.UUID, list[uuid.UUID]] = {}
    now = utcnow()
    for stop in leads:
        job = jobs[stop.job_id]
        if stop.pinned:
            continue
        start = plan.local_time(stop.start_s)
        crew = sorted(helpers.get(job.id, []))
        if job.status == JobStatus.SCHEDULED and job.technician_id == stop.technician_id \
                and job.scheduled_start == start and sorted(job.helper_ids) == crew:
            continue
        if job_rules.in_the_past(start, now):
            raise Conflict(f"the plan has job {job.reference} at {start.isoformat()}, already past; plan again",
                           changed_jobs=[job.reference])
        moving.append(stop)
        for technician_id in (stop.technician_id, *crew):
            booked.setdefault(technician_id, []).append(job.id)
    for technician_id in sorted(booked):
        calendar.lock(session, technician_id)  # one order for every writer: no deadlock between two applies
    for stop in moving:
        job = jobs[stop.job_id]
        jobs_service.schedule_job(session, job, technicians[stop.technician_id], plan.local_time(stop.start_s),
                                  actor, reason=reason, locked=job.locked, tz=plan.timezone, check_calendar=False)
        crews.book_helpers(session, job, [technicians[t] for t in sorted(helpers.get(job.id, []))],
                           tz=ZoneInfo(plan.timezone), check_calendar=False)
    for technician_id, job_ids in sorted(booked.items()):
        calendar.ensure_free(session, technician_id, job_ids, tz=ZoneInfo(plan.timezone))  # vs. what it left
    return [stop.job_id for stop in moving]


def _load_jobs(session: Session, job_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Job]:
    ids = list(job_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(Job).where(Job.id.in_(ids)).options(selectinload(Job.product)).with_for_update()
    ).all()
    return {job.id: job for job in rows}


def _load_technicians(session: Session, technician_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TechnicianRow]:
    rows = session.scalars(
        select(TechnicianRow).where(TechnicianRow.id.in_(list(technician_ids))).options(
            selectinload(TechnicianRow.skills), selectinload(TechnicianRow.certifications),
            selectinload(TechnicianRow.shifts), selectinload(TechnicianRow.shift_exceptions),
        )
    ).all()
    return {row.id: row for row in rows}


def apply_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> PlanView:
    """Schedule every planned job on its technician at its planned start, in one transaction.

    Refused (409) when the plan is not finished, was applied already, any of its jobs changed
    since it was planned (the stored ``Job.version`` no longer matches), or any of its days no
    longer holds against the calendar as it is now (:mod:`dispatch.routing.plan_check`: a booking
    made in between, a shift or leave changed...; ``problems`` names each).
    """
    actor.require(*PLANNERS)
    with uow:
        session = uow.session
        plan = load_plan(session, actor, plan_id, detail=True, for_update=True)
        if plan.status != PlanStatus.DONE:
            raise InvalidTransition(f"route plan {plan_id} is {plan.status.value}; only a done plan is applied",
                                    current=plan.status.value)
        if plan.applied_at is not None:
            raise InvalidTransition(f"route plan {plan_id} was applied at {plan.applied_at.isoformat()}",
                                    current="applied")
        _ensure_not_past(plan)
        stops = [stop for route in plan.routes for stop in route.stops]
        jobs = _load_jobs(session, (stop.job_id for stop in stops))
        _ensure_unchanged(jobs, {stop.job_id: stop.job_version for stop in stops})
        technicians = _load_technicians(session, {stop.technician_id for stop in stops})
        plan_check.ensure_days_hold(session, plan, jobs, technicians)  # every day, before anything is written
        moved = _schedule(session, actor, plan, stops, jobs, technicians, reason=f"route plan {plan.id}")
        now = utcnow()
        plan.applied_at, plan.applied_by = now, actor.user_id
        plan.stats = {**plan.stats, "applied_jobs": len(moved)}
        uow.commit()
        return detail_view(plan, now)
