"""A technician's own day: the route they drive, read from their calendar (the one source of truth).

Stops are the technician's booked visits of the local day in order, each with the leg that leads
to it (estimated as the calendar and the planner estimate it), the arrival, the booked start (the
ETA the customer was given) and the wait; the day starts and ends at the technician's start place
(home or the point), and the lunch break is placed where it first fits (the day adapter's window,
the planner's rule). The same facts go to the technician's device in the sync feed
(:func:`stop_facts`), so the app shows the same day offline. A crew job is a stop of every member's
day: a helper's leg, arrival, sequence and break come from the helper's own bookings (``helper``).

A technician reads only their own route (another technician's is a 404, as for any object that is
not theirs); the point's manager and HQ read any of the point's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, joinedload, selectinload

from dispatch import geo
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.errors import NotFound, ValidationFailed
from dispatch.jobs import calendar
from dispatch.jobs.models import Job
from dispatch.network import rules as network_rules
from dispatch.network.models import ServicePoint, StartLocation
from dispatch.network.models import Technician as TechnicianRow
from dispatch.routing.day import shift_and_break
from dispatch.routing.slots import DayStop, drive, first_break_start, km
from dispatch.uow import UnitOfWork

READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER, Role.TECHNICIAN)


@dataclass(frozen=True)
class RouteStop:
    sequence: int
    job_id: uuid.UUID
    job_reference: str
    status: str
    address: str
    lat: float | None
    lon: float | None
    window_start: datetime | None
    window_end: datetime | None
    travel_from_prev_s: int
    distance_from_prev_km: float
    arrival_at: datetime
    start_at: datetime  # the booked start: the ETA the customer was given
    finish_at: datetime
    wait_s: int
    helper: bool = False  # a crew job this technician helps on (the lead moves it through the visit)


@dataclass(frozen=True)
class DayRoute:
    technician_id: uuid.UUID
    technician_name: str
    date: date
    working: bool
    shift_start_at: datetime | None
    shift_end_at: datetime | None
    start_lat: float
    start_lon: float
    leave_at: datetime | None
    return_at: datetime | None
    break_start_at: datetime | None
    break_minutes: int
    travel_s: int
    distance_km: float
    stops: tuple[RouteStop, ...]


def _booked(session: Session, technician_id: uuid.UUID, first: datetime, end: datetime) -> list[Row]:
    """The technician's booked visits starting in [first, end), in route order: the columns a
    route reads (rows, not entities: a day's route never writes its jobs)."""
    return list(session.execute(
        select(Job.id, Job.reference, Job.status, Job.address, Job.lat, Job.lon, Job.window_start, Job.window_end,
               Job.scheduled_start, Job.scheduled_end, Job.technician_id)
        .where(calendar.worked_by(technician_id), Job.status.in_(calendar.BOOKED),
               Job.scheduled_start >= first, Job.scheduled_start < end)
        .order_by(Job.scheduled_start, Job.id)
    ).all())


def day_route(session: Session, technician: TechnicianRow, day: date, tz: ZoneInfo,
              booked: list[Job] | None = None) -> DayRoute:
    """The technician's route on ``day`` from their booked visits (reads only); ``booked``: those
    visits when the caller read them already (in route order)."""
    point = session.get(ServicePoint, technician.service_point_id)
    speed = point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    home = (technician.home_lat, technician.home_lon) \
        if technician.start_location == StartLocation.HOME and technician.home_lat is not None \
        else (point.lat, point.lon)
    jobs = booked if booked is not None else _booked(session, technician.id, midnight, midnight + timedelta(days=1))
    windows = network_rules.shifts_on(technician, day)
    at = lambda seconds: midnight + timedelta(seconds=seconds)  # noqa: E731
    shift_start_s = shift_end_s = None
    pause = None
    if windows:
        shift_start_s, shift_end_s, pause = shift_and_break(windows, technician)
    stops: list[RouteStop] = []
    here, free = home, None
    total_s, total_km = 0, 0.0
    for sequence, job in enumerate(jobs, start=1):
        there = (job.lat, job.lon) if job.lat is not None and job.lon is not None else here
        leg_s, leg_km = drive(here, there, speed), km(here, there)
        start = job.scheduled_start.astimezone(tz)
        arrival = start if free is None else min(start, free + timedelta(seconds=leg_s))
        stops.append(RouteStop(
            sequence=sequence, job_id=job.id, job_reference=job.reference, status=job.status.value,
            address=job.address, lat=job.lat, lon=job.lon, window_start=job.window_start, window_end=job.window_end,
            travel_from_prev_s=leg_s, distance_from_prev_km=round(leg_km, 2), arrival_at=arrival, start_at=start,
            finish_at=job.scheduled_end.astimezone(tz), wait_s=int((start - arrival).total_seconds()),
            helper=job.technician_id != technician.id,
        ))
        total_s, total_km, here, free = total_s + leg_s, total_km + leg_km, there, job.scheduled_end.astimezone(tz)
    leave_at = return_at = break_start = None
    if stops:
        back_s = drive(here, home, speed)
        total_s, total_km = total_s + back_s, total_km + km(here, home)
        leave_at = stops[0].start_at - timedelta(seconds=stops[0].travel_from_prev_s)
        return_at = free + timedelta(seconds=back_s)
    if pause is not None and windows:
        seconds = lambda moment: int((moment - midnight).total_seconds())  # noqa: E731
        fixed = [DayStop(shift_start_s, shift_start_s, *home),
                 *(DayStop(seconds(s.start_at), seconds(s.finish_at), s.lat, s.lon)
                   for s in stops if s.lat is not None),
                 DayStop(shift_end_s, shift_end_s, *home)]
        begin = first_break_start(fixed, pause, speed)
        break_start = at(begin) if begin is not None else None
    return DayRoute(
        technician_id=technician.id, technician_name=technician.name, date=day, working=bool(windows),
        shift_start_at=at(shift_start_s) if windows else None, shift_end_at=at(shift_end_s) if windows else None,
        start_lat=home[0], start_lon=home[1], leave_at=leave_at, return_at=return_at,
        break_start_at=break_start, break_minutes=pause.duration_s // 60 if break_start else 0,
        travel_s=total_s, distance_km=round(total_km, 2), stops=tuple(stops),
    )


def _technician(session: Session, technician_id: uuid.UUID) -> TechnicianRow | None:
    return session.scalar(select(TechnicianRow).where(TechnicianRow.id == technician_id).options(
        joinedload(TechnicianRow.service_point),  # day_route's session.get finds it: no statement of its own
        selectinload(TechnicianRow.shifts), selectinload(TechnicianRow.shift_exceptions)))


def route_of(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID | None, *, day: date,
             timezone: str) -> DayRoute:
    """A technician's route on ``day``: ``technician_id=None`` is the caller's own. Technicians
    read only their own (another's is a 404); managers their point's; HQ anyone's."""
    actor.require(*READERS)
    if technician_id is None:
        if actor.technician_id is None:
            raise ValidationFailed("technician_id", "only technicians have a route of their own")
        technician_id = actor.technician_id
    with uow:
        technician = _technician(uow.session, technician_id)
        if technician is None or (actor.role == Role.TECHNICIAN and technician.id != actor.technician_id):
            raise NotFound(f"technician {technician_id} does not exist")
        actor.ensure_point(technician.service_point_id, f"technician {technician_id}")
        return day_route(uow.session, technician, day, ZoneInfo(timezone))


def stop_facts(session: Session, jobs: Iterable[Job], tz: ZoneInfo,
               technician_id: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    """For the sync feed of ``technician_id``'s device: each booked job's place in *their own*
    route of its day, as the lead or as a crew helper (never another technician's route)."""
    days: dict[date, list[uuid.UUID]] = {}
    for job in jobs:
        if job.scheduled_start is not None and job.status in calendar.BOOKED \
                and technician_id in (job.technician_id, *job.helper_ids):
            days.setdefault(job.scheduled_start.astimezone(tz).date(), []).append(job.id)
    facts: dict[uuid.UUID, dict[str, Any]] = {}
    technician = _technician(session, technician_id) if days else None
    booked: dict[date, list[Job]] = {}
    if days:  # one read of every booked visit over the wanted days, split by local day
        first, last = (datetime(d.year, d.month, d.day, tzinfo=tz) for d in (min(days), max(days)))
        for job in _booked(session, technician_id, first, last + timedelta(days=1)):
            booked.setdefault(job.scheduled_start.astimezone(tz).date(), []).append(job)
    for day, job_ids in sorted(days.items()):
        route = day_route(session, technician, day, tz, booked.get(day, []))
        for stop in route.stops:
            if stop.job_id in job_ids:
                facts[stop.job_id] = {
                    "date": day.isoformat(), "sequence": stop.sequence, "of": len(route.stops),
                    "arrival_at": stop.arrival_at.isoformat(), "eta": stop.start_at.isoformat(),
                    "travel_from_prev_s": stop.travel_from_prev_s, "wait_s": stop.wait_s,
                    "distance_from_prev_km": stop.distance_from_prev_km,
                    "leave_at": route.leave_at.isoformat() if route.leave_at else None,
                    "break_start_at": route.break_start_at.isoformat() if route.break_start_at else None,
                    "break_minutes": route.break_minutes, "helper": stop.helper,
                }
    return facts
