"""SLA due times (``Visit.due_s``): met whenever the technician can, otherwise as early as possible."""

from __future__ import annotations

import pytest
from checker import violations

from dispatch.routing import EuclideanMatrix, PlanarLocation, RoutingProblem, Technician, Visit, solve

LIMIT_S = 0.5
HOUR = 3600
P = PlanarLocation


def day(due_s: int | None) -> RoutingProblem:
    """One technician: two visits 10 km west to start by 11:00, an open-window visit and two
    afternoon visits 10 km east. The cheapest day goes west first; serving the open visit by 09:00
    costs a second trip east (the depot is 20 minutes from either side: 10 km at 30 km/h)."""
    depot = P(0, 0)
    visits = [
        Visit("sla", P(10_000, 0), 8 * HOUR, 17 * HOUR, service_s=1800, due_s=due_s),
        Visit("am1", P(-10_000, 0), 8 * HOUR, 11 * HOUR, service_s=1800),
        Visit("am2", P(-10_200, 0), 8 * HOUR, 11 * HOUR, service_s=1800),
        Visit("pm1", P(10_200, 0), 14 * HOUR, 16 * HOUR, service_s=1800),
        Visit("pm2", P(10_400, 0), 14 * HOUR, 16 * HOUR, service_s=1800),
    ]
    return RoutingProblem.build([Technician("t", depot, depot, 8 * HOUR, 17 * HOUR)], visits,
                                EuclideanMatrix(speed_kmh=30.0))


def start_of(result, visit_id: str) -> int:
    return next(stop.start_s for route in result.routes for stop in route.stops if stop.visit_id == visit_id)


def test_without_a_due_time_the_visit_waits_for_the_trip_east() -> None:
    problem = day(None)
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and result.served_count == 5
    assert start_of(result, "am2") < start_of(result, "sla")


def test_a_due_time_some_technician_can_meet_is_met_even_if_it_costs_a_second_trip() -> None:
    problem = day(9 * HOUR)
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and result.served_count == 5
    assert start_of(result, "sla") <= 9 * HOUR


@pytest.mark.parametrize("due_s", [0, 8 * HOUR + 60])
def test_a_due_time_nobody_can_meet_gets_the_earliest_start(due_s: int) -> None:
    problem = day(due_s)
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and result.served_count == 5
    assert start_of(result, "sla") == 8 * HOUR + 1200  # leave at 08:00, 20 minutes' drive


def test_a_due_time_is_not_negative() -> None:
    with pytest.raises(ValueError, match="due_s"):
        Visit("v", P(0, 0), 0, 10, service_s=0, due_s=-1)
