"""``solve`` on tiny named instances: invariants checked by the independent checker."""

from __future__ import annotations

import dataclasses
import random

import pytest
from checker import violations

from dispatch.routing import (
    Break,
    EuclideanMatrix,
    Objective,
    Pin,
    TravelMatrix,
    PlanarLocation,
    RoutingProblem,
    RoutingResult,
    SolveParams,
    Technician,
    UnassignedReason,
    Visit,
    solve,
)

#: Tiny instances converge in milliseconds; the limit only bounds the wall time.
LIMIT_S = 0.3


def reasons(result: RoutingResult) -> dict[str, UnassignedReason]:
    return {item.visit_id: item.reason for item in result.unassigned}


def test_every_visit_is_served_by_a_technician_with_the_skill(skills_problem: RoutingProblem) -> None:
    result = solve(skills_problem, LIMIT_S)
    assert violations(skills_problem, result) == []
    assert result.served_count == len(skills_problem.visits)
    assert set(result.route_of("plumber").visit_ids) >= {"w1", "w2", "w3"}
    assert set(result.route_of("electrician").visit_ids) >= {"a1", "a2"}


def test_an_oversubscribed_day_still_returns_a_plan_with_reasons(
    oversubscribed_problem: RoutingProblem,
) -> None:
    result = solve(oversubscribed_problem, LIMIT_S)
    assert violations(oversubscribed_problem, result) == []
    assert 0 < result.served_count < len(oversubscribed_problem.visits)
    assert set(reasons(result).values()) == {UnassignedReason.CAPACITY}
    assert all(item.detail for item in result.unassigned)


def test_lower_priorities_are_dropped_before_higher_ones(oversubscribed_problem: RoutingProblem) -> None:
    result = solve(oversubscribed_problem, LIMIT_S)
    priority = {visit.id: visit.priority for visit in oversubscribed_problem.visits}
    served = [priority[visit_id] for visit_id in result.route_of("solo").visit_ids]
    dropped = [priority[item.visit_id] for item in result.unassigned]
    assert min(served) >= max(dropped)
    # Within priority 4 the urgent visit is kept over the one with no SLA pressure.
    assert "p4b" in result.route_of("solo").visit_ids
    assert "p4a" in reasons(result)


def test_a_day_with_no_room_at_all_returns_empty_routes_and_reasons() -> None:
    depot = PlanarLocation(0, 0)
    problem = RoutingProblem.build(
        [Technician("t", depot, depot, shift_start_s=0, shift_end_s=600)],
        [Visit(f"v{k}", PlanarLocation(3000, 0), 0, 600, service_s=300) for k in range(3)],
        EuclideanMatrix(),
    )
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    assert result.served_count == 0
    assert set(reasons(result).values()) == {UnassignedReason.UNREACHABLE_IN_WINDOW}
    assert result.route_of("t").stops == ()


def test_pins_breaks_and_every_precheck_reason(pins_problem: RoutingProblem) -> None:
    result = solve(pins_problem, LIMIT_S)
    assert violations(pins_problem, result) == []
    assert reasons(result) == {
        "x_skill": UnassignedReason.NO_SKILLED_TECHNICIAN,
        "x_window": UnassignedReason.WINDOW_OUTSIDE_ALL_SHIFTS,
        "x_far": UnassignedReason.UNREACHABLE_IN_WINDOW,
        "x_pin": UnassignedReason.PIN_INFEASIBLE,
    }
    anna = result.route_of("anna")
    assert anna.visit_ids[:2] == ("v1", "v2")
    assert "v3" in result.route_of("chen").visit_ids
    for technician in ("anna", "bob"):
        assert result.route_of(technician).break_start_s is not None


def test_a_locked_pin_with_a_position_holds_even_when_another_order_is_shorter() -> None:
    depot = PlanarLocation(0, 0)
    near, far = PlanarLocation(1000, 0), PlanarLocation(5000, 0)
    problem = RoutingProblem.build(
        [Technician("t", depot, depot, shift_start_s=0, shift_end_s=20_000)],
        [
            Visit("far", far, 0, 20_000, service_s=60, pin=_pin("t", 0)),
            Visit("near", near, 0, 20_000, service_s=60, pin=_pin("t", 1)),
            Visit("mid", PlanarLocation(3000, 0), 0, 20_000, service_s=60),
        ],
        EuclideanMatrix(),
    )
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    assert result.route_of("t").visit_ids[:2] == ("far", "near")


def test_a_warm_start_is_kept_when_nothing_better_exists(skills_problem: RoutingProblem) -> None:
    first = solve(skills_problem, LIMIT_S)
    warm = {route.technician_id: list(route.visit_ids) for route in first.routes}
    warm["plumber"].append("no-such-visit")
    again = solve(skills_problem, LIMIT_S, initial_routes=warm)
    assert violations(skills_problem, again) == []
    assert again.served_count == first.served_count
    assert again.distance_m <= first.distance_m
    assert "guided_local_search" in again.stats["phases"]


def test_a_warm_start_that_breaks_the_rules_is_repaired(skills_problem: RoutingProblem) -> None:
    # Every visit on the electrician, in reverse: skills and windows make most of it invalid.
    warm = {"electrician": [visit.id for visit in reversed(skills_problem.visits)]}
    result = solve(skills_problem, LIMIT_S, initial_routes=warm)
    assert violations(skills_problem, result) == []
    assert result.served_count == len(skills_problem.visits)


def test_the_result_reports_how_the_search_went(skills_problem: RoutingProblem) -> None:
    result = solve(skills_problem, LIMIT_S, seed=3)
    assert result.stats["seed"] == 3
    assert result.stats["first_solution_s"] is not None
    assert result.stats["wall_s"] > 0
    assert result.stats["strategy"]
    text = result.summary()
    assert "served 6 visits" in text and "unassigned 0" in text


def test_a_problem_without_visits_needs_no_solver() -> None:
    depot = PlanarLocation(0, 0)
    problem = RoutingProblem.build(
        [Technician("t", depot, depot, shift_start_s=0, shift_end_s=600)], [], EuclideanMatrix()
    )
    result = solve(problem, LIMIT_S)
    assert result.routes[0].stops == () and result.unassigned == ()


def _two_roads(objective: Objective) -> RoutingProblem:
    """Two visits, two orders: a-then-b drives 3 km in 30 min, b-then-a 2.4 km in 50 min."""
    depot = PlanarLocation(0, 0)
    distance = [[0, 1000, 800], [800, 0, 1000], [1000, 800, 0]]
    duration = [[0, 600, 1200], [1200, 0, 600], [600, 600, 0]]
    return RoutingProblem(
        technicians=(Technician("t", depot, depot, shift_start_s=0, shift_end_s=100_000),),
        visits=(
            Visit("a", PlanarLocation(1, 0), 0, 100_000, 0),
            Visit("b", PlanarLocation(2, 0), 0, 100_000, 0),
        ),
        travel=TravelMatrix(distance, duration),
        objective=objective,
    )


def test_the_travel_time_objective_takes_the_faster_order() -> None:
    problem = _two_roads(Objective.TRAVEL_TIME)
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    assert result.route_of("t").visit_ids == ("a", "b")
    assert (result.travel_s, result.distance_m) == (1800, 3000)


def test_the_distance_objective_takes_the_shorter_order() -> None:
    problem = _two_roads(Objective.DISTANCE)
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    assert result.route_of("t").visit_ids == ("b", "a")
    assert (result.travel_s, result.distance_m) == (3000, 2400)


def _pin(technician_id: str, position: int | None = None) -> Pin:
    return Pin(technician_id=technician_id, position=position)


def test_solve_rejects_a_non_positive_time_limit(skills_problem: RoutingProblem) -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        solve(skills_problem, 0)


def test_results_are_frozen(skills_problem: RoutingProblem) -> None:
    result = solve(skills_problem, LIMIT_S)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.routes[0].stops[0].start_s = 0  # type: ignore[misc]


def test_a_large_day_is_improved_piece_by_piece_and_stays_feasible() -> None:
    """Above 200 visits the backend re-solves neighbouring routes in pieces."""
    rng = random.Random(5)
    depot = PlanarLocation(0, 0)
    technicians = [
        Technician(f"t{k}", depot, depot, shift_start_s=0, shift_end_s=28_800,
                   skills=frozenset({"gas"} if k % 3 == 0 else ()))
        for k in range(14)
    ]
    visits = []
    for k in range(230):
        opens = rng.choice((0, 7200, 14_400))
        visits.append(
            Visit(f"v{k}", PlanarLocation(rng.randint(-8000, 8000), rng.randint(-8000, 8000)),
                  opens, opens + 10_800, service_s=600,
                  required_skill="gas" if k % 10 == 0 else None, priority=rng.randint(1, 5))
        )
    # A locked chain for t1 whose middle visit can never be served: the rest closes up.
    visits += [
        Visit("pin0", PlanarLocation(500, 500), 0, 28_800, 600, pin=_pin("t1", 0)),
        Visit("pin1", PlanarLocation(600, 500), 50_000, 52_000, 600, pin=_pin("t1", 1)),
        Visit("pin2", PlanarLocation(700, 500), 0, 28_800, 600, pin=_pin("t1", 2)),
    ]
    problem = RoutingProblem.build(technicians, visits, EuclideanMatrix(), Objective.DISTANCE)
    result = solve(problem, 2.5, seed=1)
    assert violations(problem, result) == []
    assert result.route_of("t1").visit_ids[:2] == ("pin0", "pin2")
    assert reasons(result)["pin1"] is UnassignedReason.PIN_INFEASIBLE
    assert result.stats["strategy"] == "pieces"
    assert result.stats["pieces_improved"] >= 1
    assert result.served_count > 200


def test_a_large_day_without_pins_starts_from_a_whole_day_plan_and_descends() -> None:
    """No warm start, no pinned prefix: savings builds the whole day, then pieces improve it.

    Skills and lunch breaks must survive both stages; the pieces' greedy descent
    from the current routes finds gains on a plan this young.
    """
    rng = random.Random(11)
    depot = PlanarLocation(0, 0)
    lunch = Break(earliest_start_s=12_600, latest_start_s=16_200, duration_s=1800)
    technicians = [
        Technician(f"t{k}", depot, depot, shift_start_s=0, shift_end_s=28_800,
                   skills=frozenset({"gas"} if k % 4 == 0 else ()), break_=lunch)
        for k in range(16)
    ]
    visits = []
    for k in range(240):
        opens = rng.choice((0, 7200, 14_400, 21_600))
        visits.append(
            Visit(f"v{k}", PlanarLocation(rng.randint(-9000, 9000), rng.randint(-9000, 9000)),
                  opens, opens + 7200, service_s=900,
                  required_skill="gas" if k % 12 == 0 else None)
        )
    problem = RoutingProblem.build(technicians, visits, EuclideanMatrix(), Objective.DISTANCE)
    result = solve(problem, 3.0, seed=2)
    assert violations(problem, result) == []
    assert result.stats["strategy"] == "pieces"
    assert result.stats["phases"][0] == "whole_day_savings"
    assert result.stats["pieces_improved_by"]["descent"] >= 1
    assert result.served_count == len(visits)


def _two_clusters() -> tuple[RoutingProblem, dict[str, list[str]]]:
    """Two technicians, a cluster east and one west, and a visit near the middle.

    Yesterday's plan gave ``mid`` to the east technician; the west one passes
    closer, so a free re-plan moves it (saving a few hundred metres), and may
    swap the clusters too.
    """
    depot = PlanarLocation(0, 0)
    # Four visits each at most: otherwise one technician doing everything is shortest.
    technicians = [Technician(name, depot, depot, shift_start_s=0, shift_end_s=28_800, capacity=4)
                   for name in ("east", "west")]
    spots = {"e1": (3000, 200), "e2": (3500, -300), "e3": (4000, 100),
             "w1": (-3000, 200), "w2": (-3500, -300), "w3": (-4000, 100), "mid": (-700, 600)}
    visits = [Visit(name, PlanarLocation(*xy), 0, 28_800, 600, demand=1) for name, xy in spots.items()]
    problem = RoutingProblem.build(technicians, visits, EuclideanMatrix(), Objective.DISTANCE)
    return problem, {"east": ["mid", "e1", "e2", "e3"], "west": ["w1", "w2", "w3"]}


def test_a_re_plan_keeps_each_visit_with_its_technician_unless_moving_it_pays() -> None:
    problem, yesterday = _two_clusters()
    free = solve(problem, LIMIT_S, initial_routes=yesterday, params=SolveParams(reassignment_cost_s=0))
    assert violations(problem, free) == []
    # Moves are free: the shorter plan puts ``mid`` with the west cluster, and the
    # technicians are alike, so which of them gets which cluster is a coin toss.
    assert any({"mid", "w1", "w2", "w3"} == set(route.visit_ids) for route in free.routes)

    kept = solve(problem, LIMIT_S, initial_routes=yesterday)  # default: 900 s of driving per move
    assert violations(problem, kept) == []
    assert set(kept.route_of("east").visit_ids) == {"mid", "e1", "e2", "e3"}
    assert set(kept.route_of("west").visit_ids) == {"w1", "w2", "w3"}
    assert kept.distance_m > free.distance_m


def test_the_reassignment_cost_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="reassignment_cost_s"):
        SolveParams(reassignment_cost_s=-1)
