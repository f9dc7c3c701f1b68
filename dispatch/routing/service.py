"""Route planning use cases: request a plan, run it (the background task), read it, apply it, and
insert an urgent job into an applied plan.

The pure core (:mod:`dispatch.routing`) knows nothing of the database; this module turns one
service point's day into a :class:`~dispatch.routing.RoutingProblem` (jobs, technicians on shift,
skills they are certified for, pins for work under way), stores what the solver answers, and hands
the planned slots to the jobs service. The solve itself never runs inside a transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time as perf
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationFailed,
)
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network.models import ServicePoint, StartLocation
from dispatch.network.models import Technician as TechnicianRow
from dispatch.ports import TaskQueue
from dispatch.routing import (
    Break,
    GreatCircleMatrix,
    Location,
    Pin,
    RoutingProblem,
    RoutingResult,
    Technician,
    Visit,
)
from dispatch.routing.deadline import SolveCrashed, SolveTimeout, solve_within
from dispatch.routing.models import PlannedRoute, PlannedStop, PlanStatus, RoutePlan, UnassignedJob
from dispatch.routing.plan_map import MapRoute, MapStop, render_plan_map
from dispatch.routing.problem import MAX_PRIORITY
from dispatch.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)

PLAN_ROUTES_TASK = "workers.routing_tasks.plan_routes"

#: Road distance over straight-line distance in towns (the matrix provider's circuity factor).
CIRCUITY = 1.3
#: Jobs waiting for a slot, and jobs with a slot on the day (re-planned unless locked).
PLANNABLE = (JobStatus.DISPATCHED, JobStatus.SCHEDULED)
#: Work already under way: kept on its technician, first in the route, only when planning today.
UNDER_WAY = (JobStatus.EN_ROUTE, JobStatus.ON_SITE)
#: A plan may be asked for today (re-plan the rest of the day) up to this many days ahead.
MAX_DAYS_AHEAD = 60
#: How long a run holds its claim beyond the solver's time limit before another run may take over.
LEASE_MARGIN_S = 300
#: Runs that crashed this many times are marked failed instead of being retried again.
MAX_ATTEMPTS = 3
#: A job locked to its slot may start up to this late when the drive there takes longer than the
#: manager allowed for: the technician keeps the appointment, and the plan shows the honest ETA.
LOCKED_SLACK_S = 30 * 60
#: The lunch break starts between these local times (clamped to the shift).
LUNCH_EARLIEST = time(11, 0)
LUNCH_LATEST = time(14, 0)
#: Shorter shifts than this (plus the break) get no lunch break.
LUNCH_MIN_SHIFT_S = 4 * 3600
DAY_S = 24 * 3600
#: Roles that plan and apply (managers for their own point); HQ reviewers may only read.
PLANNERS = (Role.ADMIN, Role.MANAGER)
READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER)


class OffPlanReason(StrEnum):
    """Why a job of the day never reached the solver (the solver's own reasons come on top)."""

    NO_LOCATION = "no_location"
    NO_TECHNICIAN_ON_SHIFT = "no_technician_on_shift"
    PIN_INFEASIBLE = "pin_infeasible"  # same code as the solver's: pinned to someone not working


# --- reading a day into a problem ---------------------------------------------------------------


@dataclass(frozen=True)
class JobFacts:
    """What the plan remembers of a job it was made from."""

    job_id: uuid.UUID
    version: int
    lat: float | None
    lon: float | None
    pinned: bool


@dataclass(frozen=True)
class OffPlan:
    job_id: uuid.UUID
    reason: str
    detail: str


@dataclass(frozen=True)
class PlanningInput:
    """One point's day as the solver sees it, plus what is needed to store and check the answer.

    ``problem`` is ``None`` when nobody works that day: every job is then ``off_plan``.
    """

    problem: RoutingProblem | None
    jobs: Mapping[str, JobFacts]  # by visit id (the job id as text)
    off_plan: tuple[OffPlan, ...]
    input_hash: str


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def _seconds(moment: datetime, midnight: datetime) -> int:
    """Seconds since the local midnight of the day (wall clock), clamped to the day."""
    local = moment.astimezone(midnight.tzinfo)
    seconds = int((local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds())
    return min(max(seconds, 0), DAY_S - 1)


def _clock_s(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def sla_urgency(due_at: datetime | None, day_start: datetime) -> float:
    """How pressing the SLA is on the planned day, 0..1.

    Overdue when the day begins: 1. Falls due during the day: 0.75. Due within the three days
    after: from 0.5 down to 0. Later or no SLA: 0.
    """
    if due_at is None:
        return 0.0
    hours = (due_at - day_start).total_seconds() / 3600
    if hours <= 0:
        return 1.0
    if hours <= 24:
        return 0.75
    return round(max(0.0, 0.5 * (1 - (hours - 24) / 72)), 3)


def due_on_day(due_at: datetime | None, day_start: datetime, day_end: datetime, midnight: datetime) -> int | None:
    """The SLA due time as the planner's ``due_s`` on the day: the technician should be on site by
    then, and the planner meets it whenever some technician can. Due before the day: 0 (the SLA is
    lost, start as early as possible); due after the day or no SLA: None.
    """
    if due_at is None or due_at >= day_end:
        return None
    return 0 if due_at <= day_start else _seconds(due_at, midnight)


def _shift(windows: list[network_rules.ShiftWindow], break_minutes: int) -> tuple[int, int, Break | None]:
    """The technician's working span and break on the day, in seconds since midnight.

    One window: the shift, with a lunch break starting between 11:00 and 14:00 when the shift is
    long enough. Several windows (a partial leave cuts the day): the span around the longest gap,
    and that gap becomes the break, so no work is planned in it. Overlapping windows (an extra
    shift over the usual one) count once.
    """
    spans: list[tuple[int, int]] = []
    for start, end in sorted((_clock_s(w.start), _clock_s(w.end)) for w in windows):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    if len(spans) > 1:
        k = max(range(len(spans) - 1), key=lambda i: spans[i + 1][0] - spans[i][1])
        (start, gap_start), (gap_end, end) = spans[k], spans[k + 1]
        return start, end, Break(gap_start, gap_start, gap_end - gap_start)
    start, end = spans[0]
    pause_s = max(0, break_minutes) * 60
    if pause_s == 0 or end - start < LUNCH_MIN_SHIFT_S + pause_s:
        return start, end, None
    earliest = max(start, _clock_s(LUNCH_EARLIEST))
    latest = min(end - pause_s, _clock_s(LUNCH_LATEST))
    if latest < earliest:
        earliest = latest = start + (end - start - pause_s) // 2
    return start, end, Break(earliest, latest, pause_s)


def _from_now(start: int, end: int, pause: Break | None, now_s: int) -> tuple[int, int, Break | None]:
    """Re-planning today: nobody leaves before now. A break that should have started by now is
    over, or under way: a fixed one (a partial leave) still keeps the technician off until it ends.
    """
    start = max(start, now_s)
    if pause is not None:
        if pause.latest_start_s < start:
            if pause.earliest_start_s == pause.latest_start_s:
                start = max(start, pause.latest_start_s + pause.duration_s)
            pause = None
        else:
            pause = Break(max(pause.earliest_start_s, start), pause.latest_start_s, pause.duration_s)
    return start, end, pause


def _on_day(job: Job, day_start: datetime, day_end: datetime, midnight: datetime) -> tuple[int, int] | None:
    """The job's window on the day (seconds since midnight), or None when it is not that day's work.

    Scheduled jobs belong to the day of their slot; others to the days their customer window
    touches; a job with neither (open backlog) may be done any day.
    """
    if job.scheduled_start is not None and job.status != JobStatus.DISPATCHED:
        if not day_start <= job.scheduled_start < day_end:
            return None
        if job.window_start is None or job.window_end is None or not (
            job.window_start < day_end and job.window_end > day_start
        ):
            return 0, DAY_S - 1
    window_start = job.window_start or day_start
    window_end = job.window_end or day_end
    if window_end <= day_start or window_start >= day_end:
        return None
    return _seconds(max(window_start, day_start), midnight), _seconds(min(window_end, day_end), midnight)


def _canonical(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, uuid.UUID | date | datetime):
        return str(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def _fingerprint(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


def read_day(
    session: Session,
    point: ServicePoint,
    day: date,
    tz: ZoneInfo,
    *,
    now: datetime,
    time_limit_s: int,
    seed: int,
    promised: Iterable[uuid.UUID] = (),
    meet_sla: Iterable[uuid.UUID] = (),
) -> PlanningInput:
    """Build the planning input of ``point`` for ``day`` from the database (joins the caller's
    transaction; reads only).

    ``promised`` jobs (in the applied plan, or scheduled) outrank every priority so that a new
    job never silently bumps a customer who was already given a slot. ``meet_sla`` jobs get their
    SLA due time as a goal (:func:`due_on_day`): only the urgent job being inserted, because a due
    time is a cost on the time of day, and OR-Tools prices those with an LP once routes have
    breaks (a 60-job day with lunch breaks: 1,713 plans searched in 3 s, 71 with one due time).
    Master data the planner cannot take (e.g. a home address off the map) is a 422 naming what is
    wrong.
    """
    try:
        return _read_day(session, point, day, tz, now=now, time_limit_s=time_limit_s, seed=seed,
                         promised=promised, meet_sla=meet_sla)
    except ValueError as exc:
        raise RuleViolation(f"the day of service point {point.code} cannot be planned: {exc}") from exc


def _read_day(
    session: Session,
    point: ServicePoint,
    day: date,
    tz: ZoneInfo,
    *,
    now: datetime,
    time_limit_s: int,
    seed: int,
    promised: Iterable[uuid.UUID],
    meet_sla: Iterable[uuid.UUID],
) -> PlanningInput:
    day_start, day_end = _day_bounds(day, tz)
    meet_sla = set(meet_sla)
    midnight = day_start
    today = now.astimezone(tz).date() == day
    now_s = _seconds(now, midnight) if today else 0
    statuses = PLANNABLE + (UNDER_WAY if today else ())
    jobs = session.scalars(
        select(Job)
        .where(
            Job.service_point_id == point.id,
            Job.status.in_(statuses),
            or_(
                Job.scheduled_start.is_(None),
                Job.status == JobStatus.DISPATCHED,
                and_(Job.scheduled_start >= day_start, Job.scheduled_start < day_end),
            ),
        )
        .options(selectinload(Job.product))
        .order_by(Job.reference)
    ).all()
    rows = session.scalars(
        select(TechnicianRow)
        .where(TechnicianRow.service_point_id == point.id, TechnicianRow.active.is_(True))
        .options(
            selectinload(TechnicianRow.skills),
            selectinload(TechnicianRow.certifications),
            selectinload(TechnicianRow.shifts),
            selectinload(TechnicianRow.shift_exceptions),
        )
        .order_by(TechnicianRow.name, TechnicianRow.id)
    ).all()

    under_way: dict[uuid.UUID, list[Job]] = {}
    for job in jobs:
        if job.status in UNDER_WAY and job.technician_id is not None:
            under_way.setdefault(job.technician_id, []).append(job)
    for started in under_way.values():
        started.sort(key=lambda j: (j.status != JobStatus.ON_SITE, j.scheduled_start or day_start, j.reference))

    depot = Location(point.lat, point.lon)
    technicians: list[Technician] = []
    for row in rows:
        windows = network_rules.shifts_on(row, day)
        if not windows:
            continue
        start_s, end_s, pause = _shift(windows, row.break_minutes)
        if today:
            start_s, end_s, pause = _from_now(start_s, end_s, pause, now_s)
        if start_s >= end_s:
            continue
        home = (
            Location(row.home_lat, row.home_lon)
            if row.start_location == StartLocation.HOME and row.home_lat is not None and row.home_lon is not None
            else depot
        )
        begin = home
        on_site = [j for j in under_way.get(row.id, []) if j.status == JobStatus.ON_SITE and j.lat is not None]
        if on_site:
            begin = Location(on_site[0].lat, on_site[0].lon)  # the technician is there right now
        skills = frozenset(
            f"{skill.category.value}:{skill.job_type.value}"
            for skill in row.skills
            if network_rules.valid_certification(row, skill.category, day) is not None
        )
        technicians.append(Technician(id=str(row.id), start=begin, end=home, shift_start_s=start_s,
                                      shift_end_s=end_s, skills=skills, break_=pause))
    working = {t.id: t for t in technicians}

    promised = set(promised)
    facts: dict[str, JobFacts] = {}
    visits: list[Visit] = []
    off_plan: list[OffPlan] = []
    for job in jobs:
        window = _on_day(job, day_start, day_end, midnight)
        if job.status in UNDER_WAY:
            window = (0, DAY_S - 1)
        if window is None:
            continue
        visit_id = str(job.id)
        technician_id = str(job.technician_id) if job.technician_id else None
        pinned = job.status in UNDER_WAY or (job.locked and job.status == JobStatus.SCHEDULED)
        facts[visit_id] = JobFacts(job.id, job.version, job.lat, job.lon, pinned)
        if job.lat is None or job.lon is None:
            off_plan.append(OffPlan(job.id, OffPlanReason.NO_LOCATION, "the job has no map location"))
            continue
        if not technicians:
            off_plan.append(OffPlan(job.id, OffPlanReason.NO_TECHNICIAN_ON_SHIFT,
                                    f"no technician of the point works on {day.isoformat()}"))
            continue
        service_s = job.duration_minutes * 60
        pin = None
        if pinned:
            if technician_id not in working:
                off_plan.append(OffPlan(job.id, OffPlanReason.PIN_INFEASIBLE,
                                        f"it is held by a technician who is not working on {day.isoformat()}"))
                continue
            if job.status in UNDER_WAY:
                started = under_way[job.technician_id]
                pin = Pin(technician_id, position=started.index(job))
                if job.status == JobStatus.ON_SITE:  # only the rest of the work is left
                    begun = job.arrived_at or now
                    service_s = max(0, service_s - int((now - begun).total_seconds()))
            else:
                pin = Pin(technician_id)
                if job.scheduled_start is not None:
                    slot = _seconds(job.scheduled_start, midnight)
                    window = (slot, min(slot + LOCKED_SLACK_S, DAY_S - 1))
        elif job.status == JobStatus.SCHEDULED and technician_id in working:
            pin = Pin(technician_id, locked=False)  # keep it with its technician unless moving pays
        is_promised = job.id in promised or job.status in (JobStatus.SCHEDULED, *UNDER_WAY)
        visits.append(Visit(
            id=visit_id,
            location=Location(job.lat, job.lon),
            window_start_s=window[0],
            window_end_s=window[1],
            service_s=service_s,
            required_skill=f"{job.product.category.value}:{job.type.value}",
            priority=MAX_PRIORITY if is_promised else job.priority.rank,
            sla_urgency=sla_urgency(job.sla_due_at, day_start),
            pin=pin,
            due_s=due_on_day(job.sla_due_at, day_start, day_end, midnight) if job.id in meet_sla else None,
        ))

    provider = GreatCircleMatrix(circuity=CIRCUITY, speed_kmh=point.travel_speed_kmh or 30.0)
    problem = RoutingProblem.build(technicians, visits, provider) if technicians else None
    input_hash = _fingerprint({
        "service_point_id": point.id,
        "day": day,
        "matrix": {"circuity": provider.circuity, "speed_kmh": provider.speed_kmh},
        "technicians": [asdict(t) for t in technicians],
        "visits": [asdict(v) for v in visits],
        "off_plan": [asdict(item) for item in off_plan],
        "time_limit_s": time_limit_s,
        "seed": seed,
    })
    return PlanningInput(problem=problem, jobs=facts, off_plan=tuple(off_plan), input_hash=input_hash)


# --- requesting and running a plan --------------------------------------------------------------


def _point(session: Session, actor: Principal, point_id: uuid.UUID) -> ServicePoint:
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(f"service point {point_id} does not exist")
    actor.ensure_point(point.id, f"service point {point_id}")
    return point


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
) -> PlanView:
    """Queue a plan of the point's ``day`` and hand it to the background task.

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
        point = _point(session, actor, point_id)
        today = utcnow().astimezone(tz).date()
        if day < today:
            raise ValidationFailed("date", f"{day.isoformat()} is in the past; plan today or a later day")
        if day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationFailed("date", f"plans reach at most {MAX_DAYS_AHEAD} days ahead")
        if not point.is_authorised_on(day):
            raise RuleViolation(f"service point {point.code} is not authorised on {day.isoformat()}")
        planning = read_day(session, point, day, tz, now=utcnow(), time_limit_s=time_limit_s, seed=seed)
        plan = session.scalar(
            select(RoutePlan).where(
                RoutePlan.service_point_id == point.id,
                RoutePlan.service_day == day,
                RoutePlan.input_hash == planning.input_hash,
                RoutePlan.status.in_((PlanStatus.QUEUED, PlanStatus.RUNNING)),
            )
        )
        if plan is None:
            plan = RoutePlan(service_point_id=point.id, service_day=day, timezone=timezone,
                             status=PlanStatus.QUEUED, input_hash=planning.input_hash,
                             time_limit_s=time_limit_s, seed=seed, requested_by=actor.user_id,
                             stats={"jobs": len(planning.jobs)})
            session.add(plan)
            session.flush()
        if plan.status == PlanStatus.QUEUED or plan.lease_expires_at < utcnow():
            plan_id, task_id = plan.id, f"plan-routes-{plan.id.hex}-{plan.input_hash[:16]}-{plan.attempts}"
            uow.after_commit(lambda: queue.enqueue(PLAN_ROUTES_TASK, str(plan_id), task_id=task_id,
                                                   queue="routing", timeout_s=time_limit_s + 120))
        uow.commit()
        session.refresh(plan)  # the task may already have run (inline queue)
        return _summary(plan, utcnow())


def run_plan(uow_factory: UowFactory, *, plan_id: uuid.UUID) -> str:
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
            planning = read_day(session, point, plan.service_day, ZoneInfo(plan.timezone), now=now,
                                time_limit_s=plan.time_limit_s, seed=plan.seed)
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
        result = _solve(planning, time_limit_s=limit, seed=plan.seed)
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


def _fail(plan: RoutePlan, error: str) -> None:
    plan.status = PlanStatus.FAILED
    plan.error = error[:2000]
    plan.finished_at = utcnow()
    plan.lease_expires_at = None


def _solve(planning: PlanningInput, *, time_limit_s: float, seed: int,
           initial_routes: Mapping[str, list[str]] | None = None) -> RoutingResult | None:
    """Solve under a hard deadline: in a child process killed past the time limit plus a grace
    (:mod:`dispatch.routing.deadline`), so a search that never returns cannot take the worker."""
    if planning.problem is None:
        return None
    return solve_within(planning.problem, time_limit_s, seed, initial_routes)


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


def _store(session: Session, plan: RoutePlan, planning: PlanningInput, result: RoutingResult | None) -> None:
    """Replace the plan's routes, stops and unassigned jobs with ``result`` (same rows on a rerun)."""
    session.execute(delete(PlannedStop).where(PlannedStop.plan_id == plan.id))
    session.execute(delete(PlannedRoute).where(PlannedRoute.plan_id == plan.id))
    session.execute(delete(UnassignedJob).where(UnassignedJob.plan_id == plan.id))
    session.expire(plan, ["routes", "unassigned"])
    for position, route in enumerate(result.routes if result is not None else ()):
        technician = planning.problem.technician(route.technician_id)
        stops = []
        for sequence, stop in enumerate(route.stops, start=1):
            job = planning.jobs[stop.visit_id]
            stops.append(PlannedStop(
                job_id=job.job_id, sequence=sequence, arrival_s=stop.arrival_s, start_s=stop.start_s,
                finish_s=stop.finish_s, travel_s=stop.travel_from_prev_s, distance_m=stop.distance_from_prev_m,
                lat=job.lat, lon=job.lon, job_version=job.version, pinned=job.pinned,
            ))
        pause = technician.break_
        session.add(PlannedRoute(
            plan_id=plan.id, technician_id=uuid.UUID(route.technician_id), position=position,
            start_lat=technician.start.lat, start_lon=technician.start.lon,
            end_lat=technician.end.lat, end_lon=technician.end.lon,
            shift_start_s=technician.shift_start_s, shift_end_s=technician.shift_end_s,
            start_s=route.start_s, end_s=route.end_s, distance_m=route.distance_m, travel_s=route.travel_s,
            break_start_s=route.break_start_s,
            break_s=pause.duration_s if pause is not None and route.break_start_s is not None else 0,
            stops=stops,
        ))
    left_out = [(item.job_id, item.reason, item.detail) for item in planning.off_plan]
    if result is not None:
        left_out += [(planning.jobs[item.visit_id].job_id, item.reason.value, item.detail)
                     for item in result.unassigned]
    for position, (job_id, reason, detail) in enumerate(left_out):
        facts = planning.jobs[str(job_id)]
        session.add(UnassignedJob(plan_id=plan.id, job_id=job_id, position=position, reason=str(reason),
                                  detail=detail, job_version=facts.version))
    session.flush()


# --- reading a plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class StopView:
    sequence: int
    job_id: uuid.UUID
    job_reference: str
    priority: str
    location: Point
    arrival_at: datetime
    start_at: datetime
    finish_at: datetime
    wait_s: int
    travel_s: int
    distance_m: int
    pinned: bool


@dataclass(frozen=True)
class RouteView:
    technician_id: uuid.UUID
    technician_name: str
    start: Point
    end: Point
    shift_start_at: datetime
    shift_end_at: datetime
    leave_at: datetime
    return_at: datetime
    break_start_at: datetime | None
    break_minutes: int
    distance_m: int
    travel_s: int
    return_travel_s: int
    return_distance_m: int
    stops: tuple[StopView, ...]


@dataclass(frozen=True)
class UnassignedView:
    job_id: uuid.UUID
    job_reference: str
    priority: str
    location: Point | None
    reason: str
    detail: str


@dataclass(frozen=True)
class PlanView:
    """A plan as the API shows it: the stored row plus aware local times for every stop."""

    id: uuid.UUID
    service_point_id: uuid.UUID
    date: date
    timezone: str
    status: PlanStatus
    progress: int
    time_limit_s: int
    seed: int
    input_hash: str
    attempts: int
    error: str | None
    stats: dict[str, Any]
    requested_at: datetime
    finished_at: datetime | None
    applied_at: datetime | None
    revision: int
    insertions: list[Any]
    routes: tuple[RouteView, ...] = ()
    unassigned: tuple[UnassignedView, ...] = ()


def _summary(plan: RoutePlan, now: datetime) -> PlanView:
    return PlanView(
        id=plan.id, service_point_id=plan.service_point_id, date=plan.service_day, timezone=plan.timezone,
        status=plan.status, progress=plan.progress_at(now), time_limit_s=plan.time_limit_s, seed=plan.seed,
        input_hash=plan.input_hash, attempts=plan.attempts, error=plan.error, stats=plan.stats,
        requested_at=plan.created_at, finished_at=plan.finished_at, applied_at=plan.applied_at,
        revision=plan.revision, insertions=plan.insertions,
    )


def _detail(plan: RoutePlan, now: datetime) -> PlanView:
    at = plan.local_time
    routes = []
    for route in plan.routes:
        stops = tuple(
            StopView(
                sequence=stop.sequence, job_id=stop.job_id, job_reference=stop.job.reference,
                priority=stop.job.priority.value, location=Point(stop.lat, stop.lon),
                arrival_at=at(stop.arrival_s), start_at=at(stop.start_s), finish_at=at(stop.finish_s),
                wait_s=stop.start_s - stop.arrival_s, travel_s=stop.travel_s, distance_m=stop.distance_m,
                pinned=stop.pinned,
            )
            for stop in route.stops
        )
        routes.append(RouteView(
            technician_id=route.technician_id, technician_name=route.technician.name,
            start=Point(route.start_lat, route.start_lon), end=Point(route.end_lat, route.end_lon),
            shift_start_at=at(route.shift_start_s), shift_end_at=at(route.shift_end_s),
            leave_at=at(route.start_s), return_at=at(route.end_s),
            break_start_at=at(route.break_start_s), break_minutes=route.break_s // 60,
            distance_m=route.distance_m, travel_s=route.travel_s,
            return_travel_s=route.travel_s - sum(s.travel_s for s in stops),
            return_distance_m=route.distance_m - sum(s.distance_m for s in stops),
            stops=stops,
        ))
    unassigned = tuple(
        UnassignedView(
            job_id=item.job_id, job_reference=item.job.reference, priority=item.job.priority.value,
            location=Point(item.job.lat, item.job.lon) if item.job.lat is not None and item.job.lon is not None
            else None,
            reason=item.reason, detail=item.detail,
        )
        for item in plan.unassigned
    )
    summary = _summary(plan, now)
    return PlanView(**{**summary.__dict__, "routes": tuple(routes), "unassigned": unassigned})


_DETAIL = (
    selectinload(RoutePlan.routes).selectinload(PlannedRoute.stops).selectinload(PlannedStop.job),
    selectinload(RoutePlan.routes).selectinload(PlannedRoute.technician),
    selectinload(RoutePlan.unassigned).selectinload(UnassignedJob.job),
)


def _plan(session: Session, actor: Principal, plan_id: uuid.UUID, *, detail: bool = False,
          for_update: bool = False) -> RoutePlan:
    query = select(RoutePlan).where(RoutePlan.id == plan_id).execution_options(populate_existing=True)
    if detail:
        query = query.options(*_DETAIL)
    if for_update:
        query = query.with_for_update()
    plan = session.scalar(query)
    if plan is None:
        raise NotFound(f"route plan {plan_id} does not exist")
    actor.ensure_point(plan.service_point_id, f"route plan {plan_id}")
    return plan


def get_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> PlanView:
    """One plan with its routes (stops with local ETAs) and the jobs it leaves out."""
    actor.require(*READERS)
    with uow:
        return _detail(_plan(uow.session, actor, plan_id, detail=True), utcnow())


def list_plans(uow: UnitOfWork, actor: Principal, *, point_id: uuid.UUID, day: date | None = None,
               status: PlanStatus | None = None, offset: int = 0, limit: int = 20) -> tuple[list[PlanView], int]:
    """The point's plans, newest first."""
    actor.require(*READERS)
    with uow:
        _point(uow.session, actor, point_id)
        conditions = [RoutePlan.service_point_id == point_id]
        if day is not None:
            conditions.append(RoutePlan.service_day == day)
        if status is not None:
            conditions.append(RoutePlan.status == status)
        total = uow.session.scalar(select(func.count()).select_from(RoutePlan).where(*conditions))
        plans = uow.session.scalars(
            select(RoutePlan).where(*conditions).order_by(RoutePlan.created_at.desc(), RoutePlan.id)
            .offset(offset).limit(limit)
        ).all()
        now = utcnow()
        return [_summary(plan, now) for plan in plans], total


def plan_map_svg(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> str:
    """The plan drawn as SVG: one coloured route per technician, numbered stops, left-out jobs."""
    view = get_plan(uow, actor, plan_id)
    routes = [
        MapRoute(
            label=route.technician_name,
            start=(route.start.lat, route.start.lon),
            end=(route.end.lat, route.end.lon),
            stops=tuple(MapStop(stop.sequence, stop.job_reference, (stop.location.lat, stop.location.lon))
                        for stop in route.stops),
        )
        for route in view.routes
    ]
    left_out = [MapStop(0, item.job_reference, (item.location.lat, item.location.lon))
                for item in view.unassigned if item.location is not None]
    title = f"Route plan {view.date.isoformat()} ({view.status.value})"
    return render_plan_map(routes, left_out, title=title)


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
    """Give every job of ``stops`` its planned technician and start; returns the jobs that moved.

    Pinned jobs (under way, or locked by the manager to their slot) are left as they are, and so
    is a job that already has exactly this slot.
    """
    moved = []
    for stop in stops:
        job = jobs[stop.job_id]
        if stop.pinned:
            continue
        start = plan.local_time(stop.start_s)
        if job.status == JobStatus.SCHEDULED and job.technician_id == stop.technician_id \
                and job.scheduled_start == start:
            continue
        jobs_service.schedule_job(session, job, technicians[stop.technician_id], start, actor,
                                  reason=reason, locked=job.locked, tz=plan.timezone)
        moved.append(job.id)
    return moved


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

    Refused (409) when the plan is not finished, was applied already, or any of its jobs changed
    since it was planned (the stored ``Job.version`` no longer matches).
    """
    actor.require(*PLANNERS)
    with uow:
        session = uow.session
        plan = _plan(session, actor, plan_id, detail=True, for_update=True)
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
        moved = _schedule(session, actor, plan, stops, jobs, technicians, reason=f"route plan {plan.id}")
        now = utcnow()
        plan.applied_at, plan.applied_by = now, actor.user_id
        plan.stats = {**plan.stats, "applied_jobs": len(moved)}
        uow.commit()
        return _detail(plan, now)


# --- urgent insertion into an applied plan ------------------------------------------------------


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


def insert_job(uow: UnitOfWork, actor: Principal, *, plan_id: uuid.UUID, job_id: uuid.UUID,
               time_limit_s: int) -> Insertion:
    """Fit an urgent job into an applied plan with as little change as possible, and apply it.

    The day is read again (jobs may have moved on since the plan), the solver starts from the
    applied routes, work under way and locked jobs stay pinned, and jobs already given a slot
    outrank the new one: if it fits nowhere without dropping one of them, the answer is 422 with
    the reason and nothing changes. Otherwise the new job is scheduled and the jobs whose
    technician or start changed are rescheduled, all in one transaction (409 if anything changed
    while the solver ran).

    The new job's SLA due time is a planning goal (:func:`due_on_day`): it goes where it
    meets its due time whenever some technician can without bumping a promised job; otherwise as
    early as it can, and the answer's ``sla`` says so with the projected breach in minutes (the
    job's SLA status is then ``at_risk`` from the plan, ``breached`` once the due time passes).
    """
    actor.require(*PLANNERS)
    with uow:
        session = uow.session
        plan = _plan(session, actor, plan_id)
        if plan.status != PlanStatus.DONE or plan.applied_at is None:
            raise InvalidTransition(f"route plan {plan_id} is not applied; insert into an applied plan",
                                    current=plan.status.value if plan.applied_at is None else "applied")
        job = jobs_service.get_visible_job(session, actor, job_id, with_events=False)
        if job.service_point_id != plan.service_point_id:
            raise ValidationFailed("job_id", "the job belongs to another service point")
        if job.status != JobStatus.DISPATCHED:
            raise InvalidTransition(f"job {job.reference} is {job.status.value}; only a dispatched job is inserted",
                                    allowed=[JobStatus.DISPATCHED.value], current=job.status.value)
        stops = session.scalars(select(PlannedStop).where(PlannedStop.plan_id == plan.id)
                                .order_by(PlannedStop.technician_id, PlannedStop.sequence)).all()
        initial: dict[str, list[str]] = {}
        for stop in stops:
            initial.setdefault(str(stop.technician_id), []).append(str(stop.job_id))
        _ensure_not_past(plan)
        point = session.get(ServicePoint, plan.service_point_id)
        planning = read_day(session, point, plan.service_day, ZoneInfo(plan.timezone), now=utcnow(),
                            time_limit_s=time_limit_s, seed=plan.seed, promised=(stop.job_id for stop in stops),
                            meet_sla=(job.id,))
        if str(job.id) not in planning.jobs:
            raise RuleViolation(f"job {job.reference} has no time window on {plan.service_day.isoformat()}")
        revision = plan.revision
        reference = job.reference
        uow.commit()

    try:
        result = _solve(planning, time_limit_s=time_limit_s, seed=plan.seed, initial_routes=initial)
    except (SolveTimeout, SolveCrashed) as exc:
        raise ServiceUnavailable(f"the planner did not answer: {exc}; nothing was changed, try again") from exc
    left_out = {item.job_id: item for item in planning.off_plan}
    if job_id in left_out:
        raise RuleViolation(f"job {reference} cannot be planned: {left_out[job_id].detail}",
                            reason=str(left_out[job_id].reason))
    for item in result.unassigned if result else ():
        if item.visit_id == str(job_id):
            raise RuleViolation(f"job {reference} does not fit into the day: {item.detail}",
                                reason=item.reason.value)

    with uow:
        session = uow.session
        plan = _plan(session, actor, plan_id, for_update=True)
        if plan.revision != revision:
            raise Conflict(f"route plan {plan_id} changed while the insertion was computed; try again")
        jobs = _load_jobs(session, (facts.job_id for facts in planning.jobs.values()))
        _ensure_unchanged(jobs, {facts.job_id: facts.version for facts in planning.jobs.values()})
        _store(session, plan, planning, result)
        new_stops = session.scalars(select(PlannedStop).where(PlannedStop.plan_id == plan.id)
                                    .order_by(PlannedStop.technician_id, PlannedStop.sequence)).all()
        technicians = _load_technicians(session, {stop.technician_id for stop in new_stops})
        moved = _schedule(session, actor, plan, new_stops, jobs, technicians,
                          reason=f"urgent insertion of {reference} into route plan {plan.id}")
        placed = next(stop for stop in new_stops if stop.job_id == job_id)
        now = utcnow()
        sla = _sla_outcome(jobs[job_id], plan.local_time(placed.start_s))
        rescheduled = tuple(j for j in moved if j != job_id)
        plan.revision += 1
        plan.input_hash = planning.input_hash
        plan.insertions = [*plan.insertions, {
            "job_id": str(job_id), "at": now.isoformat(), "by": str(actor.user_id),
            "technician_id": str(placed.technician_id), "rescheduled": [str(j) for j in rescheduled],
            "time_limit_s": time_limit_s,
            "sla_breach_minutes": sla.breach_minutes if sla else None,
        }]
        plan.stats = {**plan.stats, **{key: value for key, value in _stats(planning, result).items()
                                       if key != "solver"}}
        uow.commit()
        detailed = _plan(session, actor, plan_id, detail=True)
        return Insertion(job_id=job_id, technician_id=placed.technician_id, sequence=placed.sequence,
                         start_at=plan.local_time(placed.start_s), rescheduled_job_ids=rescheduled,
                         plan=_detail(detailed, now), sla=sla)
