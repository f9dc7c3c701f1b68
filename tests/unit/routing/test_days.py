"""Several days in one solve (``dispatch.routing.days``): a visit whose window spans days goes on
the day it fits best; the plan is checked by the independent checker, then split per day."""

from __future__ import annotations

from checker import violations

from dispatch.routing import Break, EuclideanMatrix, PlanarLocation, RoutingProblem, Technician, Visit, solve
from dispatch.routing.days import on_day, split_by_day, technician_days

HOUR = 3600
P = PlanarLocation
DEPOT = P(0, 0)


def week_problem(days: int = 3) -> RoutingProblem:
    lunch = Break(11 * HOUR, 13 * HOUR + 1800, 1800)
    staff = [Technician("ann", DEPOT, DEPOT, 8 * HOUR, 17 * HOUR, break_=lunch)]
    visits = [
        # day 0: a job far east; day 2: a job far west
        Visit("east", P(15_000, 0), on_day(0, 9 * HOUR), on_day(0, 12 * HOUR), 3600),
        Visit("west", P(-15_000, 0), on_day(2, 9 * HOUR), on_day(2, 12 * HOUR), 3600),
        # may be done on any of the three days: next to "west", so day 2 is best
        Visit("flexible", P(-15_200, 300), on_day(0, 8 * HOUR), on_day(2, 17 * HOUR), 3600),
    ]
    return RoutingProblem.build(technician_days([staff] * days), visits, EuclideanMatrix(speed_kmh=30.0))


def test_a_job_whose_window_spans_days_goes_on_its_best_day_in_one_solve() -> None:
    problem = week_problem()
    result = solve(problem, 1.0)
    assert violations(problem, result) == []
    days = split_by_day(result, 3)
    assert [{stop.visit_id for route in day for stop in route.stops} for day in days] == [
        {"east"}, set(), {"west", "flexible"}]
    route = days[2][0]
    assert route.technician_id == "ann" and 8 * HOUR <= route.start_s and route.end_s <= 17 * HOUR
    assert 11 * HOUR <= route.break_start_s <= 13 * HOUR + 1800
