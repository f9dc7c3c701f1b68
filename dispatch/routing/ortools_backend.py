"""The OR-Tools engine behind :func:`dispatch.routing.solve` (the only module importing ortools).

Model (``ortools.constraint_solver.pywrapcp``, the API ortools 9.15 ships):

- one node per distinct technician start/end place, then one node per visit;
- arc cost ``time_cost_per_s * duration + distance_cost_per_m * distance``
  from a registered matrix (no Python callbacks in the search loop);
- a ``time`` dimension whose transit is service time + driving time, with
  waiting slack, visit windows on the cumuls and shifts on the start/end
  cumuls; breaks as fixed-duration intervals (``SetBreakIntervalsOfVehicle``);
- a ``load`` dimension when any visit has a demand;
- skills, shifts and locked pins by restricting each visit's vehicle variable;
  positioned pins as fixed ``NextVar`` chains from the route start;
- every other visit optional (``AddDisjunction``) with the penalty the
  solver computed, so there is always a plan.

Search, inside the wall-clock deadline:

1. a portfolio of first-solution strategies, each stopped at its first
   solution; the cheapest (in seed order on ties) is kept; a warm start
   from the caller counts as one more candidate;
2. guided local search from the best candidate for the rest of the time.

The seed orders the portfolio; OR-Tools itself is deterministic, so the same
seed gives the same plan unless the clock cuts a phase short.
"""

from __future__ import annotations

import time
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from dispatch.routing.problem import Place
from dispatch.routing.solver import BackendOutcome, BackendRequest

_STATUS_NAMES = dict(
    (value, name) for name, value in routing_enums_pb2.RoutingSearchStatus.Value.items()
)
_FIRST_SOLUTION_STRATEGIES = dict(routing_enums_pb2.FirstSolutionStrategy.Value.items())

#: Share of the budget the first-solution portfolio may use before improvement starts.
_PORTFOLIO_SHARE = 0.3

#: Seconds kept back from the deadline to read and re-time the plan.
_DECODE_MARGIN_S = 0.05


class _Model:
    """The OR-Tools model of one request, with the index bookkeeping to read it back."""

    def __init__(self, request: BackendRequest) -> None:
        problem = request.problem
        self.request = request
        depots: dict[Place, int] = {}
        for technician in problem.technicians:
            depots.setdefault(technician.start, len(depots))
            depots.setdefault(technician.end, len(depots))
        self.visit_of_node: dict[int, int] = {}
        node_location = [problem.location_index[place] for place in depots]
        for v in request.planned:
            self.visit_of_node[len(node_location)] = v
            node_location.append(problem.location_index[problem.visits[v].location])
        self.node_of_visit = {v: node for node, v in self.visit_of_node.items()}
        starts = [depots[technician.start] for technician in problem.technicians]
        ends = [depots[technician.end] for technician in problem.technicians]
        self.manager = pywrapcp.RoutingIndexManager(
            len(node_location), len(problem.technicians), starts, ends
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self._add_costs(node_location)
        self._add_time(node_location)
        self._add_load()
        self._add_visit_rules()

    def index(self, v: int) -> int:
        """Routing index of planned visit ``v``."""
        return self.manager.NodeToIndex(self.node_of_visit[v])

    def _add_costs(self, node_location: list[int]) -> None:
        request = self.request
        duration = request.problem.travel.duration_s
        distance = request.problem.travel.distance_m
        a, b = request.time_cost_per_s, request.distance_cost_per_m
        cost = [
            [a * duration[i][j] + b * distance[i][j] for j in node_location] for i in node_location
        ]
        self.routing.SetArcCostEvaluatorOfAllVehicles(self.routing.RegisterTransitMatrix(cost))

    def _add_time(self, node_location: list[int]) -> None:
        problem = self.request.problem
        duration = problem.travel.duration_s
        service = [0] * len(node_location)
        for node, v in self.visit_of_node.items():
            service[node] = problem.visits[v].service_s
        transit = [
            [service[a] + duration[i][j] for j in node_location]
            for a, i in enumerate(node_location)
        ]
        horizon = max(technician.shift_end_s for technician in problem.technicians)
        routing = self.routing
        routing.AddDimension(routing.RegisterTransitMatrix(transit), horizon, horizon, False, "time")
        self.time = routing.GetDimensionOrDie("time")
        for node, v in self.visit_of_node.items():
            visit = problem.visits[v]
            self.time.CumulVar(self.manager.NodeToIndex(node)).SetRange(
                visit.window_start_s, visit.window_end_s
            )
        visit_transits = [0] * routing.Size()
        for index in range(routing.Size()):
            if not routing.IsStart(index) and not routing.IsEnd(index):
                visit_transits[index] = service[self.manager.IndexToNode(index)]
        solver = routing.solver()
        self.breaks: dict[int, Any] = {}
        for t, technician in enumerate(problem.technicians):
            for index in (routing.Start(t), routing.End(t)):
                self.time.CumulVar(index).SetRange(technician.shift_start_s, technician.shift_end_s)
            routing.AddVariableMinimizedByFinalizer(self.time.CumulVar(routing.End(t)))
            routing.AddVariableMaximizedByFinalizer(self.time.CumulVar(routing.Start(t)))
            if technician.break_ is not None:
                pause = technician.break_
                interval = solver.FixedDurationIntervalVar(
                    pause.earliest_start_s,
                    pause.latest_start_s,
                    pause.duration_s,
                    False,
                    f"break {technician.id}",
                )
                self.time.SetBreakIntervalsOfVehicle([interval], t, visit_transits)
                routing.AddIntervalToAssignment(interval)
                self.breaks[t] = interval

    def _add_load(self) -> None:
        problem = self.request.problem
        if not any(problem.visits[v].demand for v in self.request.planned):
            return
        demand = [0] * self.manager.GetNumberOfNodes()
        for node, v in self.visit_of_node.items():
            demand[node] = problem.visits[v].demand
        total = sum(demand)
        capacities = [
            total if technician.capacity is None else technician.capacity
            for technician in problem.technicians
        ]
        routing = self.routing
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(demand), 0, capacities, True, "load"
        )

    def _add_visit_rules(self) -> None:
        request = self.request
        routing = self.routing
        for v in request.planned:
            index = self.index(v)
            if v in request.penalties:
                routing.AddDisjunction([index], request.penalties[v])
            if v in request.allowed:
                # SetAllowedVehiclesForIndex does not accept Python lists in the 9.15 wheel
                # (no SWIG typemap for absl::Span<const int>); restricting the vehicle
                # variable is the equivalent, and the vehicle-var filter keeps it cheap.
                routing.VehicleVar(index).SetValues([-1, *sorted(request.allowed[v])])
        for t, prefix in enumerate(request.fixed_prefixes):
            previous = routing.Start(t)
            for v in prefix:
                routing.NextVar(previous).SetValue(self.index(v))
                previous = self.index(v)

    def routes_of(self, assignment: Any) -> tuple[tuple[int, ...], ...]:
        """Visit indices per technician in ``assignment``."""
        routing = self.routing
        routes = []
        for t in range(routing.vehicles()):
            route = []
            index = assignment.Value(routing.NextVar(routing.Start(t)))
            while not routing.IsEnd(index):
                route.append(self.visit_of_node[self.manager.IndexToNode(index)])
                index = assignment.Value(routing.NextVar(index))
            routes.append(tuple(route))
        return tuple(routes)

    def break_gaps_of(self, assignment: Any) -> tuple[int | None, ...]:
        """For each technician with a break: how many of its visits start before the break."""
        gaps: list[int | None] = []
        routing = self.routing
        for t in range(routing.vehicles()):
            interval = self.breaks.get(t)
            if interval is None:
                gaps.append(None)
                continue
            break_start = assignment.StartValue(interval)
            gap = 0
            index = assignment.Value(routing.NextVar(routing.Start(t)))
            while not routing.IsEnd(index) and assignment.Value(self.time.CumulVar(index)) < break_start:
                gap += 1
                index = assignment.Value(routing.NextVar(index))
            gaps.append(gap)
        return tuple(gaps)


def solve(request: BackendRequest) -> BackendOutcome:
    """Build the model, find a first plan, improve it until the deadline."""
    model = _Model(request)
    routing = model.routing
    params = request.params
    routing.CloseModelWithParameters(_search_parameters(request, "AUTOMATIC", 1.0))
    candidates: list[tuple[int, int, str, Any]] = []
    first_solution_s: float | None = None
    if request.initial_routes is not None:
        warm = routing.ReadAssignmentFromRoutes(
            [[model.index(v) for v in route] for route in request.initial_routes], True
        )
        if warm is not None:
            candidates.append((warm.ObjectiveValue(), -1, "warm_start", warm))
            first_solution_s = time.perf_counter() - request.started
    strategies = list(params.first_solution_strategies)
    shift = request.seed % len(strategies)
    strategies = strategies[shift:] + strategies[:shift]
    portfolio_deadline = time.perf_counter() + _PORTFOLIO_SHARE * _remaining(request)
    for order, name in enumerate(strategies):
        budget = portfolio_deadline - time.perf_counter()
        if budget <= 0 and candidates:
            break
        assignment = routing.SolveWithParameters(
            _search_parameters(request, name, max(budget, 0.05), first_only=True)
        )
        if assignment is not None:
            candidates.append((assignment.ObjectiveValue(), order, name, assignment))
            if first_solution_s is None:
                first_solution_s = time.perf_counter() - request.started
    if not candidates:
        assignment = routing.SolveWithParameters(
            _search_parameters(request, "ALL_UNPERFORMED", 1.0, first_only=True)
        )
        candidates.append((assignment.ObjectiveValue(), len(strategies), "ALL_UNPERFORMED", assignment))
        first_solution_s = time.perf_counter() - request.started
    first_cost, _, strategy, best = min(candidates, key=lambda item: item[:2])
    improved = None
    remaining = _remaining(request)
    if remaining > 0.01:
        improved = routing.SolveFromAssignmentWithParameters(
            best, _search_parameters(request, strategy, remaining)
        )
    if improved is not None and improved.ObjectiveValue() <= best.ObjectiveValue():
        best = improved
    return BackendOutcome(
        routes=model.routes_of(best),
        break_gaps=model.break_gaps_of(best),
        objective=best.ObjectiveValue(),
        stats={
            "status": _STATUS_NAMES.get(routing.status(), str(routing.status())),
            "strategy": strategy,
            "first_solution_s": first_solution_s,
            "first_solution_objective": first_cost,
            "candidates": {name: cost for cost, _, name, _ in candidates},
        },
    )


def _remaining(request: BackendRequest) -> float:
    """Seconds left before the deadline, less a margin for decoding the plan."""
    return request.deadline - time.perf_counter() - _DECODE_MARGIN_S


def _search_parameters(
    request: BackendRequest, strategy: str, seconds: float, first_only: bool = False
) -> Any:
    """Search parameters for one phase: a first-solution strategy, then GLS unless ``first_only``."""
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    if strategy in _FIRST_SOLUTION_STRATEGIES:
        parameters.first_solution_strategy = _FIRST_SOLUTION_STRATEGIES[strategy]
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.guided_local_search_lambda_coefficient = request.params.guided_local_search_lambda
    parameters.use_full_propagation = False
    parameters.log_search = request.params.log_search
    if first_only:
        parameters.solution_limit = 1
    parameters.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    return parameters
