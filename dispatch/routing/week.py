"""Several days of one service point read into one routing problem (a plan over up to a week).

Each day is read as a one-day plan reads it (:func:`dispatch.routing.day.read_day`: shifts,
floating breaks, skills, windows, pins, crews); then :mod:`dispatch.routing.days` makes one
vehicle per technician and day, counted from the first day's midnight. A job that belongs to
several of the days (a customer window spanning days, or open backlog) becomes one visit whose
window runs from its first day's opening to its last day's closing, so the search puts it on the
day it fits best and never on two. A job pinned to its technician (scheduled, locked, under way)
stays on its day's vehicle of that technician.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dispatch import geo
from dispatch.network.models import ServicePoint
from dispatch.routing import GreatCircleMatrix, RoutingProblem, Visit
from dispatch.routing.day import JobFacts, OffPlan, PlanningInput, read_day
from dispatch.routing.days import MAX_DAYS, on_day, technician_days, vehicle_id
from dispatch.routing.problem import DayGoals


def _on_vehicle(visit: Visit, k: int) -> Visit:
    """The visit of day ``k`` with its times counted from the first midnight and its pin on the
    day's vehicle of its technician."""
    pin = visit.pin
    if pin is not None:
        pin = dataclasses.replace(pin, technician_id=vehicle_id(pin.technician_id, k))
    return dataclasses.replace(
        visit, pin=pin, window_start_s=on_day(k, visit.window_start_s), window_end_s=on_day(k, visit.window_end_s),
        due_s=None if visit.due_s is None else on_day(k, visit.due_s),
        booked_start_s=None if visit.booked_start_s is None else on_day(k, visit.booked_start_s),
        crew=tuple(vehicle_id(member, k) for member in visit.crew),
    )


def read_days(session: Session, point: ServicePoint, first: date, days: int, tz: ZoneInfo, *, now: datetime,
              time_limit_s: int, seed: int, goals: DayGoals = DayGoals()) -> PlanningInput:
    """The planning input of ``point`` for ``days`` days from ``first`` (one problem; joins the
    caller's transaction, reads only). One day is exactly :func:`read_day`."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a plan spans 1..{MAX_DAYS} days, got {days}")
    if days == 1:
        return read_day(session, point, first, tz, now=now, time_limit_s=time_limit_s, seed=seed, goals=goals)
    staff, hashes = [], []
    visits: dict[str, Visit] = {}
    facts: dict[str, JobFacts] = {}
    off_plan: dict[str, OffPlan] = {}
    for k in range(days):
        planning = read_day(session, point, first + timedelta(days=k), tz, now=now, time_limit_s=time_limit_s,
                            seed=seed, goals=goals)
        hashes.append(planning.input_hash)
        facts.update(planning.jobs)
        for item in planning.off_plan:
            off_plan.setdefault(str(item.job_id), item)
        if planning.problem is None:
            staff.append(())
            continue
        staff.append(planning.problem.technicians)
        for visit in planning.problem.visits:
            timed = _on_vehicle(visit, k)
            earlier = visits.get(visit.id)  # pinned work belongs to one day only
            visits[visit.id] = timed if earlier is None else dataclasses.replace(
                earlier, window_end_s=timed.window_end_s)  # one more day of its window
    vehicles = technician_days(staff)
    problem = None
    if vehicles:
        provider = GreatCircleMatrix(circuity=geo.CIRCUITY, speed_kmh=point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH)
        problem = RoutingProblem.build(vehicles, list(visits.values()), provider, goals=goals)
    left_out = tuple(item for job_id, item in off_plan.items() if job_id not in visits)
    digest = hashlib.sha256(f"{days}:{':'.join(hashes)}".encode()).hexdigest()
    return PlanningInput(problem=problem, jobs=facts, off_plan=left_out, input_hash=digest)
