"""Offered time slots: "when can you come?" answered from the technicians' calendars, and booking one.

A slot is a window of the point's grid (``ServicePoint.slot_minutes``, 2 hours by default) in which
the job's visit can *start* (the planner's window convention) for some technician without breaking
anything already true of that technician's day: the booked visits and the drives between them
(:mod:`dispatch.jobs.calendar`), skill and certification on the day, the shift (leaving from and
getting back to the start place), the lunch break (it must still fit where it fitted before, in the
day adapter's window), and the job's SLA due time (no start after it while it can still be met).

Each window is offered once, with the technician whose day it lengthens least (added driving,
then the earliest start), and windows are ranked by that added driving. This is a cheap insertion
search over the calendar, not a solve: it answers in milliseconds and never moves a booked visit.

Booking takes the point's row lock (so two bookings of one point run one after the other),
computes the windows again inside that lock, and books the job on the window's technician through
:func:`dispatch.jobs.service.schedule_job`, which locks and checks that technician's calendar. So
the calendar holds the capacity: of two customers taking the last slot, the second gets a 409.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch import geo
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, RuleViolation, ValidationFailed
from dispatch.jobs import calendar
from dispatch.jobs import rules as job_rules
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network.models import JobType, Product, ProductCategory, ServicePoint, StartLocation
from dispatch.network.models import Technician as TechnicianRow
from dispatch.routing.day import _shift as shift_and_break
from dispatch.routing.views import load_point
from dispatch.uow import UnitOfWork

#: The longest span one request may ask about.
MAX_RANGE_DAYS = 14
#: Slot lengths a point may choose (minutes).
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES, SLOT_STEP_MINUTES = 30, 480, 15
#: Who may ask for and book slots: the call centre (HQ admin) and the point's manager.
BOOKERS = (Role.ADMIN, Role.MANAGER)
DAY_S = 24 * 3600


class SlotTaken(Conflict):
    code = "slot-taken"
    title = "The window is no longer free"


@dataclass(frozen=True)
class Work:
    """What is to be done, where: an existing job or one not yet taken in."""

    lat: float
    lon: float
    category: ProductCategory
    job_type: JobType
    duration_minutes: int
    sla_due_at: datetime | None = None
    job_id: uuid.UUID | None = None  # its own booking (if any) does not count against it


@dataclass(frozen=True)
class Slot:
    window_start: datetime
    window_end: datetime
    technician_id: uuid.UUID
    technician_name: str
    start_at: datetime  # the earliest start in the window for that technician
    added_travel_s: int
    added_km: float


@dataclass(frozen=True)
class Offer:
    slot_minutes: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Booked:
    job_id: uuid.UUID
    job_reference: str
    window_start: datetime
    window_end: datetime
    technician_id: uuid.UUID
    technician_name: str
    scheduled_start: datetime
    added_travel_s: int
    added_km: float


@dataclass(frozen=True)
class DayStop:
    """A fixed point of a technician's day: a booked visit, or the start and end places."""

    start_s: int
    end_s: int
    lat: float
    lon: float


def drive(a: DayStop | tuple[float, float], b: DayStop | tuple[float, float], speed: float) -> int:
    a_ll = (a.lat, a.lon) if isinstance(a, DayStop) else a
    b_ll = (b.lat, b.lon) if isinstance(b, DayStop) else b
    return geo.drive_seconds(*a_ll, *b_ll, speed_kmh=speed)


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geo.great_circle_m(*a, *b) * geo.CIRCUITY / 1000


def first_break_start(stops: Sequence[DayStop], pause, speed: float) -> int | None:
    """When the break (a :class:`~dispatch.routing.Break`) can begin, earliest first: in a gap
    after one stop ends and before the next begins, with the drive between them too (the
    planner's rule); ``None`` when it fits nowhere. ``stops`` run from the start place (at the
    shift start) to the end place (at the shift end)."""
    if pause is None or pause.duration_s == 0:
        return None
    for before, after in zip(stops, stops[1:]):
        free, until = before.end_s, after.start_s
        leg = drive(before, after, speed)
        begin = max(pause.earliest_start_s, free)
        if begin <= pause.latest_start_s and begin + pause.duration_s <= until \
                and until - free >= leg + pause.duration_s:
            return begin
    return None


def _break_fits(stops: Sequence[DayStop], pause, speed: float) -> bool:
    return pause is None or pause.duration_s == 0 or first_break_start(stops, pause, speed) is not None


@dataclass(frozen=True)
class _Day:
    """One technician's day: the stops in order (start place, visits, end place) and the break."""

    technician: TechnicianRow
    stops: tuple[DayStop, ...]
    pause: object
    speed: float

    @functools.cached_property
    def break_fitted(self) -> bool:
        return _break_fits(self.stops, self.pause, self.speed)

    def insertions(self, work: Work, spot: tuple[float, float], earliest_s: int):
        """Every gap the work fits in: (earliest start, latest start, added travel s, added km)."""
        service_s = work.duration_minutes * 60
        for k, (before, after) in enumerate(zip(self.stops, self.stops[1:])):
            there = drive(before, spot, self.speed)
            back = drive(spot, after, self.speed)
            lo = max(before.end_s + there, earliest_s)
            hi = after.start_s - back - service_s
            if lo > hi:
                continue
            added_s = there + back - drive(before, after, self.speed)
            added_km = km((before.lat, before.lon), spot) + km(spot, (after.lat, after.lon)) \
                - km((before.lat, before.lon), (after.lat, after.lon))
            yield k, lo, hi, added_s, added_km

    def fits_break(self, k: int, start_s: int, work: Work, spot: tuple[float, float]) -> bool:
        """The break still fits with the work at ``start_s`` in gap ``k`` (or did not fit before it:
        a day the manager already booked through the break is not this booking's doing)."""
        if not self.break_fitted:
            return True
        visit = DayStop(start_s, start_s + work.duration_minutes * 60, *spot)
        return _break_fits((*self.stops[:k + 1], visit, *self.stops[k + 1:]), self.pause, self.speed)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _seconds(moment: datetime, midnight: datetime) -> int:
    local = moment.astimezone(midnight.tzinfo)
    return int((local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds())


def _technicians(session: Session, point: ServicePoint) -> list[TechnicianRow]:
    return list(session.scalars(
        select(TechnicianRow)
        .where(TechnicianRow.service_point_id == point.id, TechnicianRow.active.is_(True))
        .options(selectinload(TechnicianRow.skills), selectinload(TechnicianRow.certifications),
                 selectinload(TechnicianRow.shifts), selectinload(TechnicianRow.shift_exceptions))
        .order_by(TechnicianRow.name, TechnicianRow.id)
    ).all())


def _booked(session: Session, technician_ids: Iterable[uuid.UUID], start: datetime, end: datetime,
            exclude: uuid.UUID | None) -> dict[uuid.UUID, list[tuple[datetime, datetime, float | None, float | None]]]:
    """The booked visits (the calendar's statuses) of the technicians in ``[start, end)``."""
    ids = list(technician_ids)
    found: dict[uuid.UUID, list] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(Job.technician_id, Job.id, Job.scheduled_start, Job.scheduled_end, Job.lat, Job.lon)
        .where(Job.technician_id.in_(ids), Job.status.in_(calendar.BOOKED), Job.scheduled_start.is_not(None),
               Job.scheduled_start < end, Job.scheduled_end > start)
        .order_by(Job.scheduled_start)
    ).all()
    for technician_id, job_id, begin, finish, lat, lon in rows:
        if job_id != exclude:
            found[technician_id].append((begin, finish, lat, lon))
    return found


def _grid(slot_s: int, first_s: int, last_s: int) -> list[tuple[int, int]]:
    """The point's windows of a day: ``slot_s`` long from the earliest shift start (on the hour)."""
    begin = (first_s // 3600) * 3600
    windows = []
    while begin < last_s:
        windows.append((begin, min(begin + slot_s, DAY_S - 1)))
        begin += slot_s
    return windows


def offered(session: Session, point: ServicePoint, work: Work, first: date, last: date, tz: ZoneInfo, *,
            now: datetime) -> Offer:
    """The windows of ``first``..``last`` (local days) in which ``work`` can be served, best first."""
    slot_s = point.slot_minutes * 60
    speed = point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH
    spot = (work.lat, work.lon)
    rows = _technicians(session, point)
    range_start, range_end = _midnight(first, tz), _midnight(last + timedelta(days=1), tz)
    booked = _booked(session, (r.id for r in rows), range_start - timedelta(hours=1), range_end, work.job_id)
    due = work.sla_due_at if work.sla_due_at is not None and work.sla_due_at > now else None
    slots: list[Slot] = []
    day = first
    while day <= last:
        if not point.is_authorised_on(day):
            day += timedelta(days=1)
            continue
        midnight = _midnight(day, tz)
        earliest_s = _seconds(now, midnight) if now > midnight else 0
        days: list[_Day] = []
        for row in rows:
            windows = network_rules.shifts_on(row, day)
            if not windows or not network_rules.qualified(row, work.category, work.job_type, day):
                continue
            start_s, end_s, pause = shift_and_break(windows, row.break_minutes)
            home = (row.home_lat, row.home_lon) \
                if row.start_location == StartLocation.HOME and row.home_lat is not None else (point.lat, point.lon)
            visits = [DayStop(_seconds(b, midnight), _seconds(e, midnight), lat, lon)
                      for b, e, lat, lon in booked[row.id]
                      if lat is not None and midnight <= b < midnight + timedelta(days=1)]
            stops = (DayStop(start_s, start_s, *home), *visits, DayStop(end_s, end_s, *home))
            days.append(_Day(row, stops, pause, speed))
        if days:
            first_s = min(d.stops[0].start_s for d in days)
            last_s = max(d.stops[-1].end_s for d in days)
            best: dict[tuple[int, int], tuple[int, int, str, Slot]] = {}
            for d in days:
                for k, lo, hi, added_s, added_km in d.insertions(work, spot, earliest_s):
                    for ws, we in _grid(slot_s, first_s, last_s):
                        start = max(lo, ws)
                        latest = min(hi, we)
                        if due is not None:
                            latest = min(latest, _seconds(due, midnight))
                        if start > latest or not d.fits_break(k, start, work, spot):
                            continue
                        key = (added_s, start, d.technician.name)
                        if (ws, we) in best and best[(ws, we)][:3] <= key:
                            continue
                        best[(ws, we)] = (*key, Slot(
                            window_start=midnight + timedelta(seconds=ws), window_end=midnight + timedelta(seconds=we),
                            technician_id=d.technician.id, technician_name=d.technician.name,
                            start_at=midnight + timedelta(seconds=start), added_travel_s=added_s,
                            added_km=round(added_km, 2)))
            slots.extend(item[3] for item in best.values())
        day += timedelta(days=1)
    slots.sort(key=lambda s: (s.added_travel_s, s.window_start, s.technician_name))
    return Offer(slot_minutes=point.slot_minutes, slots=tuple(slots))


def _range(first: date, last: date, tz: ZoneInfo) -> None:
    today = utcnow().astimezone(tz).date()
    if first < today:
        raise ValidationFailed("from", f"{first.isoformat()} is in the past")
    if last < first:
        raise ValidationFailed("to", "must not be before from")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValidationFailed("to", f"ask for at most {MAX_RANGE_DAYS} days at once")


def _work_of(job: Job) -> Work:
    if job.lat is None or job.lon is None:
        raise RuleViolation(f"job {job.reference} has no map location; no slot can be offered", rule="no-location")
    return Work(lat=job.lat, lon=job.lon, category=job.product.category, job_type=job.type,
                duration_minutes=job.duration_minutes, sla_due_at=job.sla_due_at, job_id=job.id)


def _bookable(job: Job) -> None:
    if job.status not in job_rules.ASSIGNABLE:
        raise Conflict(f"job {job.reference} is {job.status.value}; only dispatched, scheduled or on-hold jobs "
                       "are given a slot", current=job.status.value)
    if job.service_point_id is None:
        raise Conflict(f"job {job.reference} has no service point yet", current=job.status.value)


def job_slots(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, first: date, last: date,
              timezone: str) -> Offer:
    """The windows offered for an existing job of the caller's point (none for a job under way or
    finished: it needs no slot any more)."""
    actor.require(*BOOKERS)
    tz = ZoneInfo(timezone)
    _range(first, last, tz)
    with uow:
        session = uow.session
        job = jobs_service.get_visible_job(session, actor, job_id, with_events=False)
        point = session.get(ServicePoint, job.service_point_id) if job.service_point_id else None
        if point is None or job.status not in job_rules.ASSIGNABLE:
            return Offer(slot_minutes=point.slot_minutes if point else 0, slots=())  # under way or done
        return offered(session, point, _work_of(job), first, last, tz, now=utcnow())


def prospective_slots(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, first: date, last: date,
                      lat: float, lon: float, job_type: JobType, product_sku: str, duration_minutes: int,
                      timezone: str) -> Offer:
    """The windows a point could offer for a job not yet taken in (what the call centre quotes)."""
    actor.require(*BOOKERS)
    tz = ZoneInfo(timezone)
    _range(first, last, tz)
    with uow:
        session = uow.session
        point = load_point(session, actor, point_id)
        product = session.scalar(select(Product).where(Product.sku == product_sku))
        if product is None:
            raise ValidationFailed("product_sku", f"no product {product_sku}")
        work = Work(lat=lat, lon=lon, category=product.category, job_type=job_type, duration_minutes=duration_minutes)
        return offered(session, point, work, first, last, tz, now=utcnow())


def set_slot_length(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, minutes: int) -> int:
    """The point's manager (or HQ) chooses the length of the windows offered to customers."""
    actor.require(*BOOKERS)
    if not MIN_SLOT_MINUTES <= minutes <= MAX_SLOT_MINUTES or minutes % SLOT_STEP_MINUTES:
        raise ValidationFailed("minutes", f"between {MIN_SLOT_MINUTES} and {MAX_SLOT_MINUTES}, "
                                          f"a multiple of {SLOT_STEP_MINUTES}")
    with uow:
        point = load_point(uow.session, actor, point_id)
        point.slot_minutes = minutes
        uow.commit()
        return minutes


def book(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, window_start: datetime, window_end: datetime,
         timezone: str) -> Booked:
    """Give the job the window and its technician (tentatively: not locked, so the planner may still
    improve the day within the window), in one transaction; 409 ``slot-taken`` when the window is no
    longer offered, 422 when it is not a window of the point's grid."""
    actor.require(*BOOKERS)
    tz = ZoneInfo(timezone)
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if value.tzinfo is None:
            raise ValidationFailed(name, "needs a time zone offset")
    if window_end <= window_start:
        raise ValidationFailed("window_end", "must be after window_start")
    day = window_start.astimezone(tz).date()
    with uow:
        session = uow.session
        job = jobs_service.get_visible_job(session, actor, job_id, with_events=False, for_update=True)
        _bookable(job)
        # One booking of a point at a time: the second waits here and then sees the first's visit.
        point = session.scalar(select(ServicePoint).where(ServicePoint.id == job.service_point_id).with_for_update())
        if window_end - window_start != timedelta(minutes=point.slot_minutes):
            raise ValidationFailed("window_end", f"the point offers {point.slot_minutes}-minute windows")
        if day < utcnow().astimezone(tz).date():
            raise ValidationFailed("window_start", "the window is in the past")
        offer = offered(session, point, _work_of(job), day, day, tz, now=utcnow())
        slot = next((s for s in offer.slots
                     if s.window_start == window_start and s.window_end == window_end), None)
        if slot is None:
            begin, end = window_start.astimezone(tz), window_end.astimezone(tz)
            raise SlotTaken(f"no technician can serve job {job.reference} between {begin:%Y-%m-%d %H:%M} "
                            f"and {end:%H:%M} any more; ask for the slots again")
        technician = session.get(TechnicianRow, slot.technician_id)
        job.window_start, job.window_end = slot.window_start, slot.window_end
        jobs_service.schedule_job(
            session, job, technician, slot.start_at, actor, tz=tz,
            reason=f"the customer booked the window {slot.window_start:%H:%M}-{slot.window_end:%H:%M}",
        )
        uow.commit()
        return Booked(job_id=job.id, job_reference=job.reference, window_start=slot.window_start,
                      window_end=slot.window_end, technician_id=technician.id, technician_name=technician.name,
                      scheduled_start=slot.start_at, added_travel_s=slot.added_travel_s, added_km=slot.added_km)
