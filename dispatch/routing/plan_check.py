"""A plan checked against the calendar as it is now, day by day, before it is applied.

A plan is made from the day as it was; by the time the manager applies it the day may have
moved on without any of the plan's own jobs changing (those are caught by their versions): a
job outside the plan was booked in between, a technician's shift or leave changed, a skill or
certificate lapsed. Applying such a plan would write an infeasible day, so every day of the plan
is checked first, each technician's route against their shift and break window *now* and against
their other bookings *now* (the calendar, :mod:`dispatch.jobs.calendar`): a stop off shift, a
route that leaves before or comes back after the shift, a stop overlapping another booking, too
little time to drive between two visits, no gap left for the break in its window (it floats: the
plan's own break time is not binding), a lead without the skill or certificate, a helper who may
not help. Every rule broken is a sentence
naming the day and technician; the caller refuses the whole plan (409) when there is any.

The check re-derives everything from the plan's stored times and the database, not from the
solver's code, and shares the drive estimate with the calendar (:func:`dispatch.geo.drive_seconds`
at the point's speed) so that a plan the planner made and nothing changed passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dispatch import geo
from dispatch.clock import utcnow
from dispatch.errors import Conflict
from dispatch.jobs import calendar, crews
from dispatch.jobs import rules as job_rules
from dispatch.jobs.models import Job
from dispatch.network import rules as network_rules
from dispatch.network.models import ServicePoint
from dispatch.network.models import Technician as TechnicianRow
from dispatch.routing.day import shift_and_break
from dispatch.routing.days import DAY_S
from dispatch.routing.models import PlannedRoute, RoutePlan


@dataclass(frozen=True)
class DayProblem:
    """A rule the plan breaks on one of its days, as it stands now."""

    date: date
    technician_id: uuid.UUID
    detail: str
    clashing: calendar.Booking | None = None  # the booking made in between it clashes with, if any

    def as_dict(self) -> dict[str, str | None]:
        return {"date": self.date.isoformat(), "technician_id": str(self.technician_id), "detail": self.detail,
                "clashing_job_reference": self.clashing.reference if self.clashing else None}


@dataclass(frozen=True)
class _Block:
    """Time a technician is held on the day at a place: a visit (or the day's start or end)."""

    start: datetime
    end: datetime
    label: str
    lat: float | None = None
    lon: float | None = None
    booking: calendar.Booking | None = None  # booked outside the plan


def _hm(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def day_problems(session: Session, plan: RoutePlan, jobs: Mapping[uuid.UUID, Job],
                 technicians: Mapping[uuid.UUID, TechnicianRow]) -> list[DayProblem]:
    """Every rule the plan (loaded with its routes and stops) breaks against today's calendar,
    day by day (empty: every day holds). ``jobs`` and ``technicians``: those of its stops."""
    tz = ZoneInfo(plan.timezone)
    point = session.get(ServicePoint, plan.service_point_id)
    speed = point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH
    planned = {stop.job_id for route in plan.routes for stop in route.stops}
    today = utcnow().astimezone(tz).date()
    problems: list[DayProblem] = []
    for route in plan.routes:
        if route.stops:
            day = plan.service_day + timedelta(days=route.day)
            found = _route_problems(session, plan, route, technicians[route.technician_id], jobs, planned, day,
                                    tz, speed, today=day == today)
            problems += [DayProblem(day, route.technician_id, detail, clashing) for detail, clashing in found]
    return sorted(problems, key=lambda p: (p.date, str(p.technician_id), p.detail))


def _route_problems(session: Session, plan: RoutePlan, route: PlannedRoute, row: TechnicianRow,
                    jobs: Mapping[uuid.UUID, Job], planned: set[uuid.UUID], day: date, tz: ZoneInfo,
                    speed: float, *, today: bool) -> list[tuple[str, calendar.Booking | None]]:
    who = row.name
    windows = network_rules.shifts_on(row, day)
    if not windows:
        return [(f"{who} does not work on {day.isoformat()} any more", None)]
    found: list[str] = []
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    base = route.day * DAY_S
    at = lambda seconds: midnight + timedelta(seconds=seconds - base)  # noqa: E731 - plan seconds, local time
    shift_start, shift_end, pause = shift_and_break(windows, row)
    leave, back = at(route.start_s), at(route.end_s)
    if leave < midnight + timedelta(seconds=shift_start) or back > midnight + timedelta(seconds=shift_end):
        found.append(f"{who}'s shift is now {_hm(midnight + timedelta(seconds=shift_start))}-"
                     f"{_hm(midnight + timedelta(seconds=shift_end))}, and the route runs {_hm(leave)}-{_hm(back)}")
    blocks: list[_Block] = []
    for stop in route.stops:
        job = jobs[stop.job_id]
        start, finish = at(stop.start_s), at(stop.finish_s)
        blocks.append(_Block(start, finish, f"job {job.reference}", stop.lat, stop.lon))
        if stop.pinned:
            continue  # under way, or locked to its slot: it stays as it is
        if stop.helper:
            violation = crews.helper_violation(row, job, start, tz)
        else:
            violation = job_rules.assignment_violation(
                row, service_point_id=job.service_point_id, category=job.product.category, job_type=job.type,
                start=start, minutes=job.duration_minutes, tz=tz)
        if violation is not None:
            found.append(f"job {job.reference} at {_hm(start)}: {violation.reason}")
    for booking in calendar.bookings(session, row.id, midnight, midnight + timedelta(days=1)):
        if booking.job_id not in planned:  # booked in between, outside the plan
            blocks.append(_Block(booking.start.astimezone(tz), booking.end.astimezone(tz),
                                 f"job {booking.reference} (booked since the plan was made)", booking.lat,
                                 booking.lon, booking))
    blocks.sort(key=lambda b: (b.start, b.end))
    clashes = _clashes(blocks, speed)
    if pause is not None and not clashes and not (today and pause.latest_start_s < _seconds(utcnow(), midnight)):
        home = _Block(midnight + timedelta(seconds=shift_start), midnight + timedelta(seconds=shift_start),
                      "the start", route.start_lat, route.start_lon)
        end = _Block(midnight + timedelta(seconds=shift_end), midnight + timedelta(seconds=shift_end),
                     "the end", route.end_lat, route.end_lon)
        earliest = midnight + timedelta(seconds=pause.earliest_start_s)
        latest = midnight + timedelta(seconds=pause.latest_start_s)
        if not _break_fits([home, *blocks, end], earliest, latest, timedelta(seconds=pause.duration_s), speed):
            found.append(f"{who}'s {pause.duration_s // 60} min break no longer fits: it starts between "
                         f"{_hm(earliest)} and {_hm(latest)}, and the visits booked leave no such gap")
    return [(detail, None) for detail in found] + clashes


def _seconds(moment: datetime, midnight: datetime) -> int:
    return int((moment - midnight).total_seconds())


def _drive(before: _Block, after: _Block, speed: float) -> timedelta:
    if None in (before.lat, before.lon, after.lat, after.lon):
        return timedelta()  # a booking without a map location: no drive known (as the calendar has it)
    return timedelta(seconds=geo.drive_seconds(before.lat, before.lon, after.lat, after.lon, speed_kmh=speed))


def _break_fits(blocks: list[_Block], earliest: datetime, latest: datetime, length: timedelta,
                speed: float) -> bool:
    """Is there a gap between two consecutive places of the day (start, visits, end) holding the
    drive between them and the break, with the break starting in its window (it is taken before
    or after the drive)?"""
    for before, after in zip(blocks, blocks[1:]):
        drive = _drive(before, after, speed)
        for first, last in ((before.end, after.start - drive - length), (before.end + drive, after.start - length)):
            if max(first, earliest) <= min(last, latest):
                return True
    return False


def _clashes(blocks: list[_Block], speed: float) -> list[tuple[str, calendar.Booking | None]]:
    """Overlaps between consecutive blocks, and too little time to drive between two visits."""
    found = []
    for before, after in zip(blocks, blocks[1:]):
        if after.start < before.end:
            found.append((f"{after.label} at {_hm(after.start)} overlaps {before.label} until {_hm(before.end)}",
                          before.booking or after.booking))
    visits = [block for block in blocks if block.lat is not None and block.lon is not None]
    for before, after in zip(visits, visits[1:]):
        if after.start < before.end:
            continue  # said above
        drive = _drive(before, after, speed)
        if after.start < before.end + drive:
            found.append((f"{after.label} at {_hm(after.start)} leaves too little time to drive from "
                          f"{before.label} (ends {_hm(before.end)}, {int(drive.total_seconds() // 60)} min away)",
                          before.booking or after.booking))
    return found


def ensure_days_hold(session: Session, plan: RoutePlan, jobs: Mapping[uuid.UUID, Job],
                     technicians: Mapping[uuid.UUID, TechnicianRow]) -> None:
    """409 (``problems``: date, technician, sentence) when any day of the plan breaks a rule now."""
    problems = day_problems(session, plan, jobs, technicians)
    if not problems:
        return
    days = sorted({p.date.isoformat() for p in problems})
    detail = (f"the calendar changed since route plan {plan.id} was made: on {problems[0].date.isoformat()}, "
              f"{problems[0].detail}" + (f" ({len(problems)} problems on {', '.join(days)})"
                                         if len(problems) > 1 else "") + "; plan again")
    clash = next((p.clashing for p in problems if p.clashing is not None), None)
    if clash is None:
        raise Conflict(detail, problems=[p.as_dict() for p in problems])
    raise calendar.DoubleBooking(detail, problems=[p.as_dict() for p in problems], clashing_job_id=str(clash.job_id),
                                 clashing_job_reference=clash.reference)
