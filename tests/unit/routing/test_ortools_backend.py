"""The OR-Tools backend's own search steps, on small planar days.

``solve`` tests cover the whole pipeline; these pin down steps whose effect a
whole run would blur: ruin-and-descend must improve a plan from where it is,
keep every visit and stay feasible.
"""

from __future__ import annotations

import random
import time

from dispatch.routing import (
    EuclideanMatrix,
    Objective,
    PlanarLocation,
    RoutingProblem,
    Technician,
    Visit,
)
from dispatch.routing import ortools_model, ortools_pieces
from dispatch.routing.backend import BackendRequest, SolveParams
from dispatch.routing.solver import _penalties, _schedule


def _day(visit_count: int = 36, technician_count: int = 3) -> RoutingProblem:
    rng = random.Random(3)
    depot = PlanarLocation(0, 0)
    technicians = [
        Technician(f"t{k}", depot, depot, shift_start_s=0, shift_end_s=28_800)
        for k in range(technician_count)
    ]
    visits = [
        Visit(f"v{k}", PlanarLocation(rng.randint(-6000, 6000), rng.randint(-6000, 6000)),
              0, 28_800, service_s=600)
        for k in range(visit_count)
    ]
    return RoutingProblem.build(technicians, visits, EuclideanMatrix(), Objective.DISTANCE)


def _request(problem: RoutingProblem) -> BackendRequest:
    planned = tuple(range(len(problem.visits)))
    no_prefixes = tuple(() for _ in problem.technicians)
    started = time.perf_counter()
    return BackendRequest(
        problem=problem,
        planned=planned,
        allowed={},
        penalties=_penalties(problem, planned, no_prefixes, 0, 1),
        fixed_prefixes=no_prefixes,
        initial_routes=None,
        time_cost_per_s=0,
        distance_cost_per_m=1,
        started=started,
        deadline=started + 60,
        seed=0,
        params=SolveParams(),
    )


def test_ruin_and_descend_improves_a_plan_from_where_it_is() -> None:
    problem = _day()
    request = _request(problem)
    model = ortools_model.Model(request)
    model.routing.CloseModelWithParameters(
        ortools_model.search_parameters(request, "AUTOMATIC", 1.0)
    )
    # A poor but feasible plan: visits dealt out in turn, in id order.
    dealt = [tuple(range(t, len(problem.visits), len(problem.technicians)))
             for t in range(len(problem.technicians))]
    current = model.restore(
        dealt, ortools_model.search_parameters(request, "AUTOMATIC", 1.0, first_only=True)
    )
    assert current is not None

    found = ortools_pieces.ruin_and_descend(request, model, current, 0.5, random.Random(1))

    assert found is not None
    assert sorted(v for route in found for v in route) == list(range(len(problem.visits)))
    timings = [
        _schedule(problem, technician, route)
        for technician, route in zip(problem.technicians, found)
    ]
    assert all(timing is not None for timing in timings)
    dealt_m = sum(
        _schedule(problem, technician, route).distance_m  # type: ignore[union-attr]
        for technician, route in zip(problem.technicians, dealt)
    )
    assert sum(timing.distance_m for timing in timings if timing) < dealt_m


def test_ruin_and_descend_answers_none_when_nothing_can_move() -> None:
    problem = _day(visit_count=1, technician_count=1)
    request = _request(problem)
    model = ortools_model.Model(request)
    model.routing.CloseModelWithParameters(
        ortools_model.search_parameters(request, "AUTOMATIC", 1.0)
    )
    current = model.restore(
        [(0,)], ortools_model.search_parameters(request, "AUTOMATIC", 1.0, first_only=True)
    )
    assert ortools_pieces.ruin_and_descend(request, model, current, 0.2, random.Random(1)) is None


def test_cpu_budgets_last_longer_on_a_busy_machine(monkeypatch) -> None:
    """A CPU budget becomes wall time at the share of a core the run has had (floor 0.1, cap 1)."""
    clock = {"wall": 100.0, "cpu": 7.0}
    monkeypatch.setattr(ortools_model.time, "perf_counter", lambda: clock["wall"])
    monkeypatch.setattr(ortools_model.time, "process_time", lambda: clock["cpu"])
    share = ortools_model.CpuShare()
    assert share.wall_s(1.0) == 1.0  # nothing measured yet: a full core assumed
    clock["wall"] += 2.0
    clock["cpu"] += 0.5
    assert share() == 0.25
    assert share.wall_s(1.0) == 4.0
    clock["wall"] += 98.0  # 100 s of wall, 0.5 s of CPU: the floor
    assert share() == 0.1
    clock["cpu"] += 500.0  # more CPU than wall (threads): capped at a core
    assert share.wall_s(2.0) == 2.0
