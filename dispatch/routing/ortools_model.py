"""The OR-Tools model of a routing request, and the search parameters it is solved with: the only
module that imports OR-Tools (``ortools.constraint_solver.pywrapcp``, the API ortools 9.15 ships).

- one node per visit, then one per distinct technician start/end place (visits
  first: see :class:`Model`, the ruin step only reaches the first indices);
- arc cost ``time_cost_per_s * duration + distance_cost_per_m * distance``
  from a registered matrix;
- a ``time`` dimension whose transit is service time + driving time (a table
  behind a Python callback: see :meth:`Model._time_transit_callback`), with
  waiting slack, visit windows on the cumuls and shifts on the start/end
  cumuls; breaks as fixed-duration intervals (``SetBreakIntervalsOfVehicle``);
  SLA due times as soft upper bounds on the cumuls;
- a ``load`` dimension when any visit has a demand;
- skills, shifts and locked pins by restricting each visit's vehicle variable;
  positioned pins as fixed ``NextVar`` chains from the route start;
- every other visit optional (``AddDisjunction``) with the penalty the
  solver computed, so there is always a plan.

The search schedules that use it are :mod:`dispatch.routing.ortools_search` (a whole day) and
:mod:`dispatch.routing.ortools_pieces` (a large day, a few routes at a time).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
)

from dispatch.routing.backend import BackendOutcome, BackendRequest
from dispatch.routing.problem import Place

_STATUS_NAMES = dict(
    (value, name) for name, value in routing_enums_pb2.RoutingSearchStatus.Value.items()
)
_FIRST_SOLUTION_STRATEGIES = dict(routing_enums_pb2.FirstSolutionStrategy.Value.items())

#: Seconds kept back from the deadline to read and re-time the plan.
DECODE_MARGIN_S = 0.05

#: Generous limit for reading a plan into a model (it takes milliseconds).
RESTORE_S = 10.0

#: Shortest search phase worth starting, in seconds.
MIN_PHASE_S = 0.05

#: SISR ruin (Christiaens & Vanden Berghe 2020): longest removed string, mean removed visits,
#: and the split-string bypass factor, as suggested in the paper.
_SISR_MAX_SEQUENCE = 10
_SISR_AVERAGE_REMOVED = 10
_SISR_BYPASS_FACTOR = 0.01

#: Simulated-annealing temperatures: start at this multiple of the mean cost from a place
#: to its nearest other place (colder for the short searches on pieces), end this many
#: times lower.
_INITIAL_TEMPERATURE_PER_NEAREST = 2.0
_FINAL_TEMPERATURE_RATIO = 1e-4


class Model:
    """The OR-Tools model of one request, with the index bookkeeping to read it back."""

    def __init__(self, request: BackendRequest) -> None:
        problem = request.problem
        self.request = request
        # Visits are nodes 0..n-1 and the technicians' places come after them, so the
        # visits get routing indices 0..n-1. OR-Tools' ruin step (PickRandomPerformedVisit
        # in routing_ils.cc, 9.15) draws its seed visit from indices 0..Size()-vehicles()
        # only, and loops until it hits a performed one: with the depots first and more
        # than one distinct depot, the last visits are out of its reach, and a day whose
        # performed visits are all among them (one job, two technicians living apart)
        # spun forever inside the C++ search.
        self.visit_of_node: dict[int, int] = {}
        node_location: list[int] = []
        # OR-Tools breaks ties by node index: the seed permutes the visits' nodes.
        order = list(request.planned)
        if request.seed:
            random.Random(request.seed).shuffle(order)
        for v in order:
            self.visit_of_node[len(node_location)] = v
            node_location.append(problem.location_index[problem.visits[v].location])
        self.node_of_visit = {v: node for node, v in self.visit_of_node.items()}
        depots: dict[Place, int] = {}
        for technician in problem.technicians:
            for place in (technician.start, technician.end):
                if place not in depots:
                    depots[place] = len(node_location)
                    node_location.append(problem.location_index[place])
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
        nearest = [
            min((value for j, value in enumerate(row) if j != i), default=0)
            for i, row in enumerate(cost)
        ]
        #: Mean cost from a place to its nearest other place: the scale of the annealing.
        self.mean_nearest_cost = max(1.0, sum(nearest) / len(nearest))

    def _add_time(self, node_location: list[int]) -> None:
        problem = self.request.problem
        service = [0] * len(node_location)
        for node, v in self.visit_of_node.items():
            service[node] = problem.visits[v].service_s
        horizon = max(technician.shift_end_s for technician in problem.technicians)
        routing = self.routing
        routing.AddDimension(self._time_transit_callback(node_location, service), horizon, horizon, False, "time")
        self.time = routing.GetDimensionOrDie("time")
        for node, v in self.visit_of_node.items():
            visit = problem.visits[v]
            index = self.manager.NodeToIndex(node)
            self.time.CumulVar(index).SetRange(visit.window_start_s, visit.window_end_s)
            if visit.due_s is not None and visit.due_s < visit.window_end_s:
                # An SLA: being late is allowed, and costs per second (``lateness_cost_per_s``).
                self.time.SetCumulVarSoftUpperBound(index, visit.due_s, self.request.lateness_cost_per_s)
        visit_transits = [0] * routing.Size()
        for index in range(routing.Size()):
            if not routing.IsStart(index) and not routing.IsEnd(index):
                visit_transits[index] = service[self.manager.IndexToNode(index)]
        solver = routing.solver()
        self.breaks: dict[int, Any] = {}
        for t, technician in enumerate(problem.technicians):
            for index in (routing.Start(t), routing.End(t)):
                self.time.CumulVar(index).SetRange(technician.shift_start_s, technician.shift_end_s)
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

    def _time_transit_callback(self, node_location: list[int], service: list[int]) -> int:
        """Register the time dimension's transit (service here + driving to the next place).

        A Python callback over a table by routing index, not ``RegisterTransitMatrix``: in
        ortools 9.15 the time windows' path filter hands the dimension's evaluator to
        ``FillDimensionValuesFromRoutingDimension`` by value (an ``absl::AnyInvocable``) on every
        route it checks, and the matrix evaluator carries its whole matrix, so every check
        copied the matrix (a vector per row). Profiled on Solomon RC103: 35 % of the search's
        CPU went to those copies; with this callback, whose copy is a reference, the same
        search runs 3,000 ruin-and-recreate iterations in 2.0 s of CPU instead of 3.0 s, and the
        callback's calls take about a tenth of the time. The arc costs stay a registered matrix
        (never copied on the hot path).
        """
        duration = self.request.problem.travel.duration_s
        routing = self.routing
        node_of_index = [self.manager.IndexToNode(index) for index in range(routing.Size() + routing.vehicles())]
        place = [node_location[node] for node in node_of_index]
        table = [
            [service[node] + duration[place[a]][place[b]] for b in range(len(place))]
            for a, node in enumerate(node_of_index)
        ]
        self._time_transit = lambda a, b: table[a][b]  # lives as long as the model
        return routing.RegisterTransitCallback(self._time_transit)

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
        for v, t in request.preferred_technicians.items():
            # Paid when the visit is served by anyone else (an unserved visit pays its
            # drop penalty instead).
            routing.AddSoftSameVehicleConstraint([routing.Start(t), self.index(v)], request.reassignment_cost)
        for t, prefix in enumerate(request.fixed_prefixes):
            previous = routing.Start(t)
            for v in prefix:
                routing.NextVar(previous).SetValue(self.index(v))
                previous = self.index(v)

    def restore(self, routes: Sequence[Sequence[int]], parameters: Any) -> Any | None:
        """Search from the given routes (visit indices per technician) with ``parameters``.

        With ``first_only`` parameters this just reads the routes in (times,
        objective); ``None`` if they are infeasible. It replaces
        ``ReadAssignmentFromRoutes``, which runs under the time limit of the
        previous search and so fails at random once that search is over.
        """
        routing = self.routing
        partial = routing.solver().Assignment()
        indices = [[self.index(v) for v in route] for route in routes]
        if not routing.RoutesToAssignment(indices, True, True, partial):
            return None
        return routing.SolveFromAssignmentWithParameters(partial, parameters)

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
            if (
                interval is None
                or not assignment.IntervalVarContainer().Contains(interval)
                or not assignment.PerformedValue(interval)
                or assignment.StartMin(interval) != assignment.StartMax(interval)
            ):
                # No break, none recorded in this assignment, or its start is still a range
                # (StartValue would abort the process): the decoder places it.
                gaps.append(None)
                continue
            break_start = assignment.StartMin(interval)
            gap = 0
            index = assignment.Value(routing.NextVar(routing.Start(t)))
            while not routing.IsEnd(index) and assignment.Value(self.time.CumulVar(index)) < break_start:
                gap += 1
                index = assignment.Value(routing.NextVar(index))
            gaps.append(gap)
        return tuple(gaps)


class Monitor:
    """Solution callback of every model of a solve: when the first plan came, how many came, and
    the stall stop (a search that found no cheaper plan for ``patience`` seconds is finished).

    The stall stop works for guided local search (its solution callback may finish the search);
    OR-Tools' iterated local search ignores that, so its rounds are bounded by length instead.
    Patience is counted in CPU seconds of this process: on a busy machine the search gets the
    same effort before it is judged stalled, not less.
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_s: float | None = None
        self.count = 0
        self.stopped = False
        self._patience: float | None = None
        self._best: int | None = None
        self._best_at = 0.0

    def watch(self, model: Model) -> None:
        """Follow ``model``'s searches (before any of them starts)."""
        model.routing.AddAtSolutionCallback(lambda: self._on_solution(model))

    def stall_after(self, patience: float | None) -> None:
        """Stop the next searches after ``patience`` CPU seconds without a cheaper plan (``None``: never)."""
        self._patience = patience
        self._best = None
        self._best_at = time.process_time()

    def _on_solution(self, model: Model) -> None:
        self.count += 1
        if self.first_s is None:
            self.first_s = time.perf_counter() - self.started
        if self._patience is None:
            return
        now = time.process_time()
        cost = model.routing.CostVar().Value()
        if self._best is None or cost < self._best:
            self._best, self._best_at = cost, now
        elif now - self._best_at > self._patience:
            self.stopped = True
            model.routing.solver().FinishCurrentSearch()


def outcome(model: Model, assignment: Any, monitor: Monitor, **stats: Any) -> BackendOutcome:
    """The engine's answer from ``assignment`` of ``model``, with the search's figures."""
    routing = model.routing
    return BackendOutcome(
        routes=model.routes_of(assignment),
        break_gaps=model.break_gaps_of(assignment),
        objective=assignment.ObjectiveValue(),
        stats={
            "status": _STATUS_NAMES.get(routing.status(), str(routing.status())),
            "first_solution_s": monitor.first_s,
            "solutions": monitor.count,
            **stats,
        },
    )


def better(best: Any | None, candidate: Any | None) -> Any | None:
    """The cheaper of two assignments (the incumbent on ties; either may be missing)."""
    if best is None or (candidate is not None and candidate.ObjectiveValue() < best.ObjectiveValue()):
        return candidate
    return best


class CpuShare:
    """The share of a CPU core this process has had since it was made (between 0.1 and 1).

    Budgets that stand for an amount of search (an annealing round, a piece) are set in CPU
    seconds and turned into wall seconds with it, so a run that gets half a core searches as
    much per round as one on a quiet machine, only over twice the time; the hard deadline stays
    in wall-clock time.
    """

    _FLOOR = 0.1

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def __call__(self) -> float:
        wall = time.perf_counter() - self._wall
        if wall < MIN_PHASE_S:
            return 1.0
        return min(1.0, max(self._FLOOR, (time.process_time() - self._cpu) / wall))

    def wall_s(self, cpu_s: float) -> float:
        """Wall seconds that buy ``cpu_s`` CPU seconds at the share seen so far."""
        return cpu_s / self()


def remaining(request: BackendRequest) -> float:
    """Seconds left before the deadline, less a margin for decoding the plan."""
    return request.deadline - time.perf_counter() - DECODE_MARGIN_S


def ils_parameters(
    request: BackendRequest,
    strategy: str,
    seconds: float,
    model: Model,
    temperature_per_nearest: float = _INITIAL_TEMPERATURE_PER_NEAREST,
    removed_visits: int = _SISR_AVERAGE_REMOVED,
) -> Any:
    """Iterated local search: SISR ruin, cheapest-insertion recreate, simulated annealing.

    The perturbed plan is not polished by a full local search: many cheap
    iterations beat few polished ones (measured on Solomon, where polishing
    helped some long-route instances and hurt more; the final GLS polish of
    the best plan covers them). Temperatures are relative to the mean cost of
    going to the nearest other place, so they do not depend on units or on
    how the search started.

    The removed visits go back in random order (SISR's recreate shuffles them
    too) and the temperature falls linearly rather than exponentially (which
    spends most of the run too cold to leave a basin). On the 12-instance
    Solomon subset at 10 s, four seeds: mean gap 1.48 % (runs from 1.01 to
    2.05 %) with neither, 0.95 % (0.90 to 0.98 %) with both.
    """
    parameters = search_parameters(request, strategy, seconds)
    parameters.use_iterated_local_search = True
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    ils = parameters.iterated_local_search_parameters
    ils.improve_perturbed_solution = False
    ruin_recreate = ils.ruin_recreate_parameters
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = max(_SISR_MAX_SEQUENCE, removed_visits)
    sisr.avg_num_removed_visits = removed_visits
    sisr.bypass_factor = _SISR_BYPASS_FACTOR
    recreate = ruin_recreate.recreate_strategy
    recreate.heuristic = _FIRST_SOLUTION_STRATEGIES["LOCAL_CHEAPEST_INSERTION"]
    recreate.parameters.local_cheapest_insertion.insertion_sorting_properties.append(
        routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_RANDOM
    )
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.LINEAR
    annealing.initial_temperature = temperature_per_nearest * model.mean_nearest_cost
    annealing.final_temperature = annealing.initial_temperature * _FINAL_TEMPERATURE_RATIO
    return parameters


def search_parameters(
    request: BackendRequest,
    strategy: str,
    seconds: float,
    first_only: bool = False,
    descent: bool = False,
) -> Any:
    """Search parameters for one phase: a first-solution strategy, then local search.

    The local search is guided (GLS) by default, a plain greedy descent to the
    first local optimum with ``descent``, and none with ``first_only``.
    """
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    if strategy in _FIRST_SOLUTION_STRATEGIES:
        parameters.first_solution_strategy = _FIRST_SOLUTION_STRATEGIES[strategy]
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        if descent
        else routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.guided_local_search_lambda_coefficient = request.params.guided_local_search_lambda
    parameters.use_full_propagation = False
    parameters.log_search = request.params.log_search
    if first_only:
        parameters.solution_limit = 1
    parameters.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    return parameters
