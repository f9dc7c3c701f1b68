"""Several days as one routing problem: a vehicle per technician and day, times counted from the
first day's midnight, so a visit whose window spans several days goes on whichever day it fits best
(the search weighs every day at once) and a week is planned in one solve.

:func:`technician_days` turns each day's technicians into such vehicles (ids ``<technician>@<k>``,
shifts and breaks shifted by ``k`` days); a visit's window is likewise counted from the first day's
midnight (:func:`on_day` gives seconds for a time of day ``k``). :func:`split_by_day` reads the
answer back as one plan per day, in each day's own seconds since midnight.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from dispatch.routing.problem import Break, Technician
from dispatch.routing.result import Route, RoutingResult

DAY_S = 24 * 3600
#: Longest plan in days (a week).
MAX_DAYS = 7
_MARK = "@"


def on_day(k: int, seconds: int) -> int:
    """``seconds`` since midnight of day ``k`` (0: the first day), counted from the first midnight."""
    return k * DAY_S + seconds


def vehicle_id(technician_id: str, k: int) -> str:
    """The vehicle of ``technician_id`` on day ``k`` (see :func:`technician_days`)."""
    return f"{technician_id}{_MARK}{k}"


def technician_days(days: Sequence[Sequence[Technician]]) -> list[Technician]:
    """One vehicle per technician working on day ``k`` (``days[k]``: that day's technicians)."""
    if not 1 <= len(days) <= MAX_DAYS:
        raise ValueError(f"a plan spans 1..{MAX_DAYS} days, got {len(days)}")
    vehicles = []
    for k, technicians in enumerate(days):
        for technician in technicians:
            pause = technician.break_
            vehicles.append(dataclasses.replace(
                technician,
                id=vehicle_id(technician.id, k),
                shift_start_s=on_day(k, technician.shift_start_s),
                shift_end_s=on_day(k, technician.shift_end_s),
                break_=None if pause is None else Break(
                    on_day(k, pause.earliest_start_s), on_day(k, pause.latest_start_s), pause.duration_s),
            ))
    return vehicles


def technician_and_day(vehicle_id: str) -> tuple[str, int]:
    """The technician and day index of a vehicle made by :func:`technician_days` (a plain
    technician id: day 0)."""
    technician_id, mark, k = vehicle_id.rpartition(_MARK)
    return (technician_id, int(k)) if mark else (vehicle_id, 0)


def split_by_day(result: RoutingResult, days: int) -> list[tuple[Route, ...]]:
    """The routes of each day, with technician ids and times of that day (seconds since its midnight)."""
    by_day: list[list[Route]] = [[] for _ in range(days)]
    for route in result.routes:
        technician_id, k = technician_and_day(route.technician_id)
        shift = k * DAY_S
        by_day[k].append(dataclasses.replace(
            route,
            technician_id=technician_id,
            start_s=route.start_s - shift,
            end_s=route.end_s - shift,
            break_start_s=None if route.break_start_s is None else route.break_start_s - shift,
            stops=tuple(dataclasses.replace(stop, arrival_s=stop.arrival_s - shift, start_s=stop.start_s - shift,
                                            finish_s=stop.finish_s - shift) for stop in route.stops),
        ))
    return [tuple(routes) for routes in by_day]
