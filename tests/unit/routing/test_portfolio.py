"""A portfolio of searches (issue 20): several differently seeded solves at once, the best plan kept.

A worker with spare cores sets ``DISPATCH_SOLVE_SEARCHES``; each search runs in its own child
process under the same hard deadline as a single one.
"""

from __future__ import annotations

import pytest
from checker import violations

from dispatch.config import Settings
from dispatch.routing import EuclideanMatrix, PlanarLocation, RoutingProblem, Technician, Visit, deadline
from dispatch.routing.deadline import SolveTimeout, call_all_within, solve_within
from dispatch.routing.result import RoutingResult, Unassigned, UnassignedReason
from tests.plan_builders import spin_in_c_holding_the_gil

pytestmark = pytest.mark.timeout(120)

P = PlanarLocation
DAY = (8 * 3600, 17 * 3600)


def answer_or_fail(value: int) -> int:
    """A picklable target: hands ``value`` back, refuses a negative one, hangs on zero."""
    if value < 0:
        raise ValueError(f"negative: {value}")
    if value == 0:
        spin_in_c_holding_the_gil()
    return value * 10


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_every_call_answers_in_order_with_its_value_or_its_error(start: str) -> None:
    answers = call_all_within(answer_or_fail, [(1,), (-1,), (2,)], 60.0, start=start)
    assert answers[0] == (True, 10) and answers[2] == (True, 20)
    assert answers[1][0] is False and isinstance(answers[1][1], ValueError)


def test_a_hung_call_is_killed_at_the_deadline_and_the_others_still_answer() -> None:
    # Forked children start at once; a fresh interpreter's hang is killed by the same code as
    # call_within's (tests/unit/routing/test_degenerate_days.py).
    answers = call_all_within(answer_or_fail, [(1,), (0,)], 5.0, start="fork")
    assert answers[0] == (True, 10)
    assert answers[1][0] is False and isinstance(answers[1][1], SolveTimeout)


def day_problem() -> RoutingProblem:
    technicians = [Technician(f"t{k}", P(0, 0), P(0, 0), *DAY) for k in range(3)]
    visits = [Visit(f"v{k}", P(1500 * (k % 5), 900 * (k // 5)), *DAY, service_s=900) for k in range(15)]
    return RoutingProblem.build(technicians, visits, EuclideanMatrix())


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_two_searches_give_a_checked_plan_from_one_of_their_seeds(start: str) -> None:
    problem = day_problem()
    result = solve_within(problem, 1.0, seed=4, deadline_s=60.0, start=start, searches=2)
    assert violations(problem, result) == []
    assert result.served_count == 15 and result.stats["seed"] in (4, 5)


def plan(objective: int, unassigned: int = 0) -> RoutingResult:
    left_out = tuple(Unassigned.because(f"v{k}", UnassignedReason.CAPACITY) for k in range(unassigned))
    return RoutingResult(routes=(), unassigned=left_out, objective=objective)


def test_the_plan_serving_most_then_cheapest_wins_and_failures_are_skipped(monkeypatch) -> None:
    answers = [(True, plan(50, unassigned=1)), (False, RuntimeError("crashed")), (True, plan(90)), (True, plan(70))]
    monkeypatch.setattr(deadline, "call_all_within", lambda *args, **kwargs: answers)
    assert solve_within(day_problem(), 1.0, searches=4).objective == 70


def test_when_no_search_answers_the_first_failure_is_raised(monkeypatch) -> None:
    answers = [(False, SolveTimeout("late")), (False, RuntimeError("crashed"))]
    monkeypatch.setattr(deadline, "call_all_within", lambda *args, **kwargs: answers)
    with pytest.raises(SolveTimeout, match="late"):
        solve_within(day_problem(), 1.0, searches=2)
    with pytest.raises(ValueError, match="searches must be >= 1"):
        solve_within(day_problem(), 1.0, searches=0)


def test_the_worker_setting_defaults_to_one_search() -> None:
    assert Settings.from_env({"SECRET_KEY": "x"}).solve_searches == 1
    assert Settings.from_env({"SECRET_KEY": "x", "DISPATCH_SOLVE_SEARCHES": "2"}).solve_searches == 2
