"""The technicians' calendars of a point's day checked by the independent feasibility checker.

The calendar (the booked jobs) is turned into the planner's result shape against the day as the
planner reads it (:func:`dispatch.routing.day.read_day`: shifts, breaks, skills, windows, pins),
and handed to ``tests/unit/routing/checker.py``, which shares no code with the planner: so a slot
booked, a re-plan confirmed or a plan applied that broke a window, a shift, a break, a skill or
the drive between two visits shows up as a sentence.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select

from dispatch.jobs import calendar
from dispatch.jobs.models import Job
from dispatch.network.models import ServicePoint
from dispatch.routing import Route, RoutingResult, Stop, Unassigned, UnassignedReason
from dispatch.routing.day import read_day
from tests.dates import TZ
from tests.unit.routing.checker import violations


def _break_start(problem, technician, stops, start_s, end_s):
    pause = technician.break_
    if pause is None or not stops:
        return None
    index = problem.location_index
    places = [technician.start, *(problem.visits[v].location for v, _ in stops), technician.end]
    frees = [start_s, *(finish for _, (_, finish) in stops)]
    untils = [start for _, (start, _) in stops] + [end_s]
    for k, (free, until) in enumerate(zip(frees, untils)):
        leg = problem.travel.duration_s[index[places[k]]][index[places[k + 1]]]
        begin = max(pause.earliest_start_s, free)
        if begin <= pause.latest_start_s and begin + pause.duration_s <= until \
                and until - free >= leg + pause.duration_s:
            return begin
    if pause.latest_start_s >= end_s:  # after the last visit, back at the end place
        return max(pause.earliest_start_s, end_s)
    return pause.earliest_start_s  # it fits nowhere: the checker says so


def calendar_violations(session, point_code: str, day: date, *, now: datetime | None = None) -> list[str]:
    """Every broken rule of the point's booked visits on ``day`` (empty: the day is feasible).

    The day is read as the planner would have read it the evening before (whole shifts, every
    booked visit with its full duration), so a re-planned day is checked from its first visit on.
    """
    point = session.scalar(select(ServicePoint).where(ServicePoint.code == point_code))
    evening_before = datetime(day.year, day.month, day.day, tzinfo=TZ) - timedelta(seconds=1)
    planning = read_day(session, point, day, TZ, now=now or evening_before, time_limit_s=1, seed=0)
    problem = planning.problem
    if problem is None:
        return []
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)
    position = {visit.id: k for k, visit in enumerate(problem.visits)}
    index = problem.location_index
    seconds, metres = problem.travel.duration_s, problem.travel.distance_m
    routes, routed = [], set()
    for technician in problem.technicians:
        rows = session.execute(
            select(Job.id, Job.scheduled_start, Job.scheduled_end)
            .where(Job.technician_id == uuid.UUID(technician.id), Job.status.in_(calendar.BOOKED),
                   Job.scheduled_start >= midnight, Job.scheduled_start < midnight + timedelta(days=1))
            .order_by(Job.scheduled_start)
        ).all()
        timed = [(position[str(job_id)], (int((b - midnight).total_seconds()), int((e - midnight).total_seconds())))
                 for job_id, b, e in rows if str(job_id) in position]
        stops, at, free = [], index[technician.start], None
        total_s = total_m = 0
        for v, (start, _) in timed:
            visit = problem.visits[v]
            here = index[visit.location]
            leg_s, leg_m = seconds[at][here], metres[at][here]
            arrival = start if free is None else min(start, free + leg_s)
            finish = start + visit.service_s
            stops.append(Stop(visit.id, arrival, start, finish, leg_s, leg_m))
            total_s, total_m, at, free = total_s + leg_s, total_m + leg_m, here, finish
            routed.add(visit.id)
        if stops:
            back = index[technician.end]
            total_s += seconds[at][back]
            total_m += metres[at][back]
            start_s = stops[0].start_s - stops[0].travel_from_prev_s
            end_s = free + seconds[at][back]
            pause = _break_start(problem, technician, timed, start_s, end_s)
            routes.append(Route(technician.id, tuple(stops), start_s, end_s, total_m, total_s, pause))
        else:
            routes.append(Route(technician.id, (), technician.shift_start_s, technician.shift_start_s, 0, 0))
    unassigned = tuple(Unassigned(v.id, UnassignedReason.CAPACITY, "not booked")
                       for v in problem.visits if v.id not in routed)
    return violations(problem, RoutingResult(tuple(routes), unassigned, 0))
