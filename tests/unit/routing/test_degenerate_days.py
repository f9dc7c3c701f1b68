"""Degenerate days never hang the planner (issue 15), and a solve that does hang is killed.

Each shape is solved through :func:`solve_within`, the guarded path the service uses: a solve that
never returns (OR-Tools 9.15's ruin step spun forever on a day whose only performed visits its
random draw cannot reach) fails these tests at the hard deadline with ``SolveTimeout`` instead of
hanging the run; the timeout markers are the backstop. The first three shapes hung before the
model put the visits first.
"""

from __future__ import annotations

import pytest
from checker import violations

from dispatch.routing import (
    EuclideanMatrix,
    Pin,
    PlanarLocation,
    RoutingProblem,
    Technician,
    UnassignedReason,
    Visit,
    ortools_model,
)
from dispatch.routing.deadline import SolveTimeout, call_within, solve_within
from dispatch.routing.backend import BackendRequest, SolveParams
from dispatch.routing.solver import _penalties
from tests.plan_builders import spin_in_c_holding_the_gil

#: The time limit of every solve here, and the hard deadline that turns a hang into a failure.
LIMIT_S = 1.0
DEADLINE_S = 60.0

pytestmark = pytest.mark.timeout(120)

P = PlanarLocation
DAY = (8 * 3600, 17 * 3600)


def homes(count: int) -> list[Technician]:
    """``count`` technicians, each starting and ending at a home of their own, 3 km apart."""
    return [Technician(f"t{k}", P(3000 * k, 0), P(3000 * k, 0), *DAY) for k in range(count)]


def visit(name: str, x: int, **fields) -> Visit:
    return Visit(name, P(x, 500), *DAY, service_s=600, **fields)


def solved(technicians: list[Technician], visits: list[Visit], **kwargs):
    problem = RoutingProblem.build(technicians, visits, EuclideanMatrix())
    result = solve_within(problem, LIMIT_S, deadline_s=DEADLINE_S, **kwargs)
    assert violations(problem, result) == []
    return result


def test_one_job_and_two_technicians_living_apart() -> None:
    result = solved(homes(2), [visit("v", 500)])
    assert result.served_count == 1


def test_two_jobs_and_five_technicians_living_apart() -> None:
    result = solved(homes(5), [visit("a", 500), visit("b", 900)])
    assert result.served_count == 2


def test_one_job_pinned_first_and_the_rest_unreachable() -> None:
    far = [Visit(f"far{k}", P(900_000, 0), DAY[0], DAY[0] + 60, service_s=600) for k in range(3)]
    result = solved(homes(2), [visit("p", 500, pin=Pin("t1", position=0)), *far])
    assert result.route_of("t1").visit_ids == ("p",)
    assert {item.reason for item in result.unassigned} == {UnassignedReason.UNREACHABLE_IN_WINDOW}


def test_no_visit_can_be_performed() -> None:
    far = [Visit(f"far{k}", P(900_000, 0), DAY[0], DAY[0] + 60, service_s=600) for k in range(3)]
    result = solved(homes(2), far)
    assert result.served_count == 0 and len(result.unassigned) == 3


def test_no_visits_at_all() -> None:
    result = solved(homes(2), [])
    assert result.served_count == 0 and result.unassigned == ()


def test_every_visit_pinned_to_a_position() -> None:
    visits = [visit(f"v{k}", 700 * k, pin=Pin(f"t{k % 3}", position=k // 3)) for k in range(6)]
    result = solved(homes(3), visits)
    assert result.served_count == 6
    assert result.route_of("t0").visit_ids == ("v0", "v3")


def test_every_visit_locked_to_a_technician() -> None:
    visits = [visit(f"v{k}", 700 * k, pin=Pin(f"t{k % 3}")) for k in range(6)]
    result = solved(homes(3), visits)
    assert set(result.route_of("t1").visit_ids) == {"v1", "v4"}


def test_one_technician_one_job() -> None:
    assert solved(homes(1), [visit("v", 500)]).served_count == 1


def test_one_technician_with_a_warm_start() -> None:
    result = solved(homes(1), [visit(f"v{k}", 300 * k) for k in range(6)],
                    initial_routes={"t0": ["v5", "v4", "v3", "v2", "v1", "v0"]})
    assert result.served_count == 6


def test_one_technician_more_work_than_time() -> None:
    visits = [Visit(f"v{k}", P(300 * k, 500), DAY[0], DAY[0] + 7200, service_s=3000) for k in range(8)]
    result = solved(homes(1), visits)
    assert 0 < result.served_count < 8


def test_a_problem_needs_a_technician() -> None:
    # "No technician" never reaches the solver: the core refuses it, and the service reports every
    # job of such a day as no_technician_on_shift (tests/api/test_plans_requests.py).
    with pytest.raises(ValueError, match="at least one technician"):
        RoutingProblem.build([], [visit("v", 500)], EuclideanMatrix())


def test_every_visit_is_within_reach_of_the_ruin_step() -> None:
    """OR-Tools draws the seed visit of a ruin from routing indices 0..Size()-vehicles() and loops
    until it draws a performed one: every visit must have an index in that range."""
    problem = RoutingProblem.build(homes(5), [visit(f"v{k}", 400 * k) for k in range(3)], EuclideanMatrix())
    planned = tuple(range(len(problem.visits)))
    no_prefixes = tuple(() for _ in problem.technicians)
    request = BackendRequest(
        problem=problem, planned=planned, allowed={},
        penalties=_penalties(problem, planned, no_prefixes, 0, 1), fixed_prefixes=no_prefixes,
        initial_routes=None, time_cost_per_s=0, distance_cost_per_m=1, started=0.0, deadline=0.0,
        seed=0, params=SolveParams(),
    )
    model = ortools_model.Model(request)
    reach = model.routing.Size() - model.routing.vehicles()
    assert all(0 <= model.index(v) <= reach for v in planned)


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_a_solve_that_never_returns_is_killed_at_its_hard_deadline(start: str) -> None:
    with pytest.raises(SolveTimeout, match="hard deadline of 2 s"):
        call_within(spin_in_c_holding_the_gil, (), 2.0, start=start)


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_the_child_hands_back_results_and_errors(start: str) -> None:
    problem = RoutingProblem.build(homes(2), [visit("v", 500)], EuclideanMatrix())
    assert solve_within(problem, LIMIT_S, deadline_s=DEADLINE_S, start=start).served_count == 1
    with pytest.raises(ValueError, match="time_limit_s must be > 0"):
        solve_within(problem, 0, deadline_s=DEADLINE_S, start=start)
