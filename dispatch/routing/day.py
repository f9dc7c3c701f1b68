"""One service point's day read from the database into a routing problem: where planning policy lives.

Which jobs belong to the day (customer windows, scheduled slots, work under way), who works
(shifts, partial leave, lunch breaks, home starts, valid certifications), what each job is worth
to the solver (priority, promised slots, SLA urgency and due times, pins) and the fingerprint of
it all. Reads only, inside the caller's transaction; the solve itself never runs in one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch import geo
from dispatch.errors import RuleViolation
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network.models import ServicePoint, StartLocation
from dispatch.network.models import Technician as TechnicianRow
from dispatch.routing import Break, GreatCircleMatrix, Location, Pin, RoutingProblem, Technician, Visit
from dispatch.routing.problem import MAX_PRIORITY, DayGoals

#: Road distance over straight-line distance in towns (the matrix provider's circuity factor).
#: Jobs waiting for a slot, and jobs with a slot on the day (re-planned unless locked).
PLANNABLE = (JobStatus.DISPATCHED, JobStatus.SCHEDULED)
#: Work already under way: kept on its technician, first in the route, only when planning today.
UNDER_WAY = (JobStatus.EN_ROUTE, JobStatus.ON_SITE)
#: A job locked to its slot may start up to this late when the drive there takes longer than the
#: manager allowed for: the technician keeps the appointment, and the plan shows the honest ETA.
LOCKED_SLACK_S = 30 * 60
#: The lunch break starts between these local times (clamped to the shift).
LUNCH_EARLIEST = time(11, 0)
LUNCH_LATEST = time(14, 0)
#: Shorter shifts than this (plus the break) get no lunch break.
LUNCH_MIN_SHIFT_S = 4 * 3600
DAY_S = 24 * 3600


class OffPlanReason(StrEnum):
    """Why a job of the day never reached the solver (the solver's own reasons come on top)."""

    NO_LOCATION = "no_location"
    NO_TECHNICIAN_ON_SHIFT = "no_technician_on_shift"
    PIN_INFEASIBLE = "pin_infeasible"  # same code as the solver's: pinned to someone not working



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


def _shift(windows: list[network_rules.ShiftWindow], break_minutes: int,
           lunch: tuple[time | None, time | None] = (None, None)) -> tuple[int, int, Break | None]:
    """The technician's working span and break on the day, in seconds since midnight.

    One window: the shift, with a lunch break starting anywhere in the technician's break window
    (``lunch``; none set: between 11:00 and 14:00) when the shift is long enough: the planner
    places it where it costs least. Several windows (a partial leave cuts the day): the span around the longest gap,
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
    earliest = max(start, _clock_s(lunch[0] or LUNCH_EARLIEST))
    latest = min(end - pause_s, _clock_s(lunch[1] or LUNCH_LATEST))
    if latest < earliest:
        earliest = latest = start + (end - start - pause_s) // 2
    return start, end, Break(earliest, latest, pause_s)


def shift_and_break(windows: list[network_rules.ShiftWindow], row: TechnicianRow) -> tuple[int, int, Break | None]:
    """:func:`_shift` for a technician's row: their break length and the window it floats in."""
    return _shift(windows, row.break_minutes, (row.break_earliest, row.break_latest))


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


def _master_data_as_rule_violation(read: Callable[..., PlanningInput]) -> Callable[..., PlanningInput]:
    """Bad master data (a home off the map) becomes a 422 naming the point, never a 500."""

    @functools.wraps(read)
    def reading(session: Session, point: ServicePoint, *args: Any, **kwargs: Any) -> PlanningInput:
        try:
            return read(session, point, *args, **kwargs)
        except ValueError as exc:
            raise RuleViolation(f"the day of service point {point.code} cannot be planned: {exc}") from exc

    return reading


@_master_data_as_rule_violation
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
    goals: DayGoals = DayGoals(),
) -> PlanningInput:
    """Build the planning input of ``point`` for ``day`` from the database (joins the caller's
    transaction; reads only).

    ``promised`` jobs (in the applied plan, or scheduled) outrank every priority so that a new
    job never silently bumps a customer who was already given a slot. ``meet_sla`` jobs get their
    SLA due time as a goal (:func:`due_on_day`): only the urgent job being inserted, because a due
    time is a cost on the time of day, and OR-Tools prices those with an LP once routes have
    breaks (a 60-job day with lunch breaks: 1,713 plans searched in 3 s, 71 with one due time).
    Master data the planner cannot take (e.g. a home address off the map) is a 422 naming what is
    wrong. ``goals`` are the plan's soft goals (waiting, workload balance). A crew job asks the
    planner for ``crew_size`` technicians (:mod:`dispatch.routing.crews`).
    """
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
        start_s, end_s, pause = shift_and_break(windows, row)
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
        booked = job.status == JobStatus.SCHEDULED and job.scheduled_start is not None
        crew = (technician_id, *(str(h) for h in job.helper_ids)) if booked and job.crew_size > 1 else ()
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
            crew_size=job.crew_size,
            booked_start_s=_seconds(job.scheduled_start, midnight) if booked else None,
            crew=crew,
        ))

    provider = GreatCircleMatrix(circuity=geo.CIRCUITY, speed_kmh=point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH)
    problem = RoutingProblem.build(technicians, visits, provider, goals=goals) if technicians else None
    input_hash = _fingerprint({
        "service_point_id": point.id,
        "day": day,
        "matrix": {"circuity": provider.circuity, "speed_kmh": provider.speed_kmh},
        "technicians": [asdict(t) for t in technicians],
        "visits": [asdict(v) for v in visits],
        "off_plan": [asdict(item) for item in off_plan],
        "time_limit_s": time_limit_s,
        "seed": seed,
        "goals": asdict(goals),
    })
    return PlanningInput(problem=problem, jobs=facts, off_plan=tuple(off_plan), input_hash=input_hash)

