"""Large days, a few routes at a time (the decomposition of
:func:`dispatch.routing.ortools_backend.solve` above its size threshold).

A large day starts from a whole-day savings plan (or the warm start), then is
improved piece by piece (:class:`_Pieces`): a few neighbouring routes at a
time, solved as a small problem: a greedy descent from their current order to
a local optimum, then ruin-and-descend rounds from there; kept when cheaper.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

from dispatch.routing.backend import BackendOutcome, BackendRequest
from dispatch.routing.matrix import TravelMatrix
from dispatch.routing.ortools_model import (
    DECODE_MARGIN_S,
    CpuShare,
    MIN_PHASE_S,
    RESTORE_S,
    Model,
    ils_parameters,
    remaining,
    search_parameters,
)
from dispatch.routing.problem import Pin, RoutingProblem, Visit, locations_of

#: A piece: about this many served visits, up to this many unused technicians and
#: nearby unserved visits, re-solved for at most this many seconds (at least the minimum).
_PIECE_VISITS = 100
_PIECE_SPARE_ROUTES = 2
_PIECE_UNSERVED = 20
_PIECE_SECONDS = 1.0

#: Piece budgets are CPU seconds (see :class:`~dispatch.routing.ortools_model.CpuShare`).
#: The time given to a piece adapts: shorter after a success (easy gains are left),
#: longer after a failure (the plan got good enough to need a deeper search). This
#: also keeps the search sensible on a slower or busier machine.
_PIECE_SHRINK = 0.9
_PIECE_GROW = 1.25
_PIECE_SECONDS_MIN = 0.3
_PIECE_SECONDS_MAX = 4.0
_MIN_PIECE_S = 0.2
_CONSTRUCTION_PIECE_SECONDS = 0.5

#: CPU seconds per visit kept back to read a piecewise plan into the whole-day model.
_READ_BACK_S_PER_VISIT = 3e-4
_PIECE_STRATEGY = "PARALLEL_CHEAPEST_INSERTION"

#: A large day with no warm start first gets a whole-day plan from the savings
#: heuristic (600 visits: about a second, every visit served), given at most this
#: share of the budget; the pieces then only build what it left out.
_WHOLE_DAY_STRATEGY = "SAVINGS"
_WHOLE_DAY_SHARE = 0.3

#: How many neighbouring visits a ruin-and-descend round takes out (see :func:`ruin_and_descend`).
_RUIN_VISITS = 12

#: Simulated-annealing temperature of the short searches on pieces (see ortools_model).
_PIECE_TEMPERATURE_PER_NEAREST = 0.5


def solve_by_pieces(request: BackendRequest) -> BackendOutcome:
    """Large days: a whole-day first plan, then improvement a few neighbouring routes at a time.

    The whole-day model only builds the first plan (savings, when there is no
    warm start and no pinned prefix: it takes the plain model, and is fast)
    and reads the final plan back (which also proves it feasible as a whole).
    Local search on it would cost time linear in the whole day per move.
    """
    model = Model(request)
    routing = model.routing
    routing.CloseModelWithParameters(search_parameters(request, "AUTOMATIC", 1.0))
    # Keep time to read the plan back into the whole-day model at the end.
    pieces = _Pieces(request, read_back_s=len(request.planned) * _READ_BACK_S_PER_VISIT)
    routes = [list(route) for route in request.initial_routes or [() for _ in request.problem.technicians]]
    phases = []
    if request.initial_routes is None and not any(request.fixed_prefixes):
        whole_day = routing.SolveWithParameters(
            search_parameters(
                request, _WHOLE_DAY_STRATEGY, _WHOLE_DAY_SHARE * remaining(request), first_only=True
            )
        )
        if whole_day is not None:
            routes = [list(route) for route in model.routes_of(whole_day)]
            phases.append("whole_day_" + _WHOLE_DAY_STRATEGY.lower())
    pieces.construct(routes)
    phases += ["construction_by_pieces", "improvement_by_pieces"]
    first_solution_s = time.perf_counter() - request.started
    pieces.improve(routes)
    final = model.restore(routes, search_parameters(request, "AUTOMATIC", RESTORE_S, first_only=True))
    if final is None:
        raise RuntimeError("the pieces of the plan do not fit together (engine bug)")
    return BackendOutcome(
        routes=model.routes_of(final),
        break_gaps=model.break_gaps_of(final),
        objective=final.ObjectiveValue(),
        stats={
            "status": "ROUTING_SUCCESS",
            "strategy": "pieces",
            "phases": phases,
            "first_solution_s": first_solution_s,
            "pieces": pieces.tried,
            "pieces_improved": pieces.improved,
            "pieces_improved_by": pieces.improved_by,
        },
    )


class _Pieces:
    """Piecewise search over a large day: pick neighbouring routes, re-solve them, keep gains.

    A piece is a few routes near a seed visit holding about
    :data:`_PIECE_VISITS` visits, a couple of idle technicians and nearby
    unserved visits. It is solved as a problem of its own (see
    :func:`_solve_piece`: a greedy descent from the current routes, then, at
    a local optimum, ruin-and-descend; the time it gets adapts to how often
    pieces succeed) and its new routes replace the old ones only if they
    cost less. OR-Tools' moves cost time linear in the model size, so small
    pieces let the search cover far more ground than the whole day would in
    the same time.

    Measured on the 600-visit day, mean km over 2-4 seeds from the same
    savings start, at 10 s / 60 s: pieces re-solved from scratch by OR-Tools'
    iterated local search (it takes no warm start) 1,666 / -; descent, then
    that ILS at local optima, 1,602 / 1,553; descent, then ruin-and-descend,
    1,603 / 1,527.
    """

    def __init__(self, request: BackendRequest, read_back_s: float) -> None:
        self.request = request
        #: CPU seconds kept back to read the plan into the whole-day model at the end.
        self.read_back_s = read_back_s
        self.rng = random.Random(request.seed)
        problem = request.problem
        self.distance = problem.travel.distance_m
        self.place = [problem.location_index[visit.location] for visit in problem.visits]
        self.start_place = [problem.location_index[t.start] for t in problem.technicians]
        self.tried = 0
        self.improved = 0
        self.improved_by = {"construction": 0, "descent": 0, "ruin": 0}
        #: CPU seconds a piece gets (turned into wall seconds by the CPU share of the run).
        self.piece_seconds = _PIECE_SECONDS
        self.cpu_share = CpuShare()

    def construct(self, routes: list[list[int]]) -> None:
        """Serve the unserved visits region by region, with the idle technicians nearest to each."""
        request = self.request
        while self._left() > _MIN_PIECE_S:
            unserved = self._unserved(routes)
            idle = [t for t, route in enumerate(routes) if not route]
            if not unserved or not idle:
                break
            seed = self.place[self.rng.choice(unserved)]
            nearby = sorted(unserved, key=lambda v: self.distance[seed][self.place[v]])
            nearby = nearby[:_PIECE_VISITS]
            # Idle technicians are shared out in proportion to the visits left.
            wanted = max(1, round(len(nearby) * len(idle) / len(unserved)))
            chosen = sorted(idle, key=lambda t: self.distance[self.start_place[t]][seed])[:wanted]
            self._run(routes, chosen, nearby, _CONSTRUCTION_PIECE_SECONDS)

    def improve(self, routes: list[list[int]]) -> None:
        """Re-solve pieces around served visits until the deadline.

        While some visits are unserved, every other piece is built around one
        of them. The other seeds come from a shuffled round of all served
        visits, skipping those already inside a piece of the round, so every
        part of the day gets its turn before any gets a second one.
        """
        request = self.request
        queue: list[int] = []
        covered: set[int] = set()
        while self._left() > _MIN_PIECE_S:
            served = {v for route in routes for v in route}
            unserved = self._unserved(routes)
            queue = [v for v in queue if v in served and v not in covered]
            if not queue:
                queue = sorted(served)
                self.rng.shuffle(queue)
                covered = set()
            if not queue:
                break
            # Every other piece is built around a visit still out of the plan, so
            # that it holds the routes that could take it; the others keep
            # improving the rest (some visits may never fit).
            around_unserved = bool(unserved) and self.tried % 2 == 0
            seed = self.place[self.rng.choice(unserved) if around_unserved else queue.pop()]

            def closeness(t: int) -> int:
                return min(self.distance[seed][self.place[v]] for v in routes[t])

            chosen: list[int] = []
            size = 0
            for t in sorted((t for t, route in enumerate(routes) if route), key=closeness):
                if size >= _PIECE_VISITS:
                    break
                chosen.append(t)
                size += len(routes[t])
            idle = [t for t, route in enumerate(routes) if not route]
            chosen += sorted(idle, key=lambda t: self.distance[self.start_place[t]][seed])[
                :_PIECE_SPARE_ROUTES
            ]
            covered.update(v for t in chosen for v in routes[t])
            nearby = sorted(unserved, key=lambda v: self.distance[seed][self.place[v]])
            if self._run(routes, chosen, nearby[:_PIECE_UNSERVED], self.piece_seconds):
                self.piece_seconds = max(_PIECE_SECONDS_MIN, self.piece_seconds * _PIECE_SHRINK)
            else:
                self.piece_seconds = min(_PIECE_SECONDS_MAX, self.piece_seconds * _PIECE_GROW)

    def _left(self) -> float:
        """Wall seconds left for pieces: the deadline less the read-back, at the CPU share seen so far."""
        return remaining(self.request) - self.cpu_share.wall_s(self.read_back_s)

    def _unserved(self, routes: list[list[int]]) -> list[int]:
        served = {v for route in routes for v in route}
        return [v for v in self.request.planned if v not in served]

    def _run(self, routes: list[list[int]], chosen: list[int], extra: list[int], seconds: float) -> bool:
        """Re-solve one piece within ``seconds``; True if its routes were replaced."""
        budget = min(self.cpu_share.wall_s(seconds), self._left())
        self.tried += 1
        replacement = _solve_piece(
            self.request, chosen, [routes[t] for t in chosen], extra, budget, self.rng
        )
        if replacement is None:
            return False
        self.improved += 1
        self.improved_by[replacement.found_by] += 1
        for t, route in zip(chosen, replacement.routes):
            routes[t] = list(route)
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class _PieceRoutes:
    """A piece's cheaper routes (original visit indices) and the search that found them."""

    routes: list[tuple[int, ...]]
    found_by: str


def _solve_piece(
    request: BackendRequest,
    technicians: list[int],
    routes: list[list[int]],
    extra: list[int],
    seconds: float,
    rng: random.Random,
) -> _PieceRoutes | None:
    """Re-solve some technicians' routes (and ``extra`` unserved visits) as a small problem.

    Routes with no visits yet are built by iterated local search. Otherwise a
    greedy descent from the current routes comes first; if it finds nothing
    (a local optimum), ruin-and-descend from them (:func:`ruin_and_descend`)
    for the rest of ``seconds``.
    Returns the new routes (in ``technicians`` order, original visit indices)
    when they cost less than the current ones (read into the piece's model,
    which also proves them feasible there), else ``None``.
    """
    problem = request.problem
    chosen = set(technicians)
    visits = [v for route in routes for v in route]
    visits += [
        v
        for v in extra
        if chosen & request.allowed.get(v, chosen)
        and not _locked_elsewhere(problem.visits[v], problem, chosen)
    ]
    sub_technicians = [problem.technicians[t] for t in technicians]
    sub_visits = [dataclasses.replace(problem.visits[v], pin=_kept_pin(problem.visits[v])) for v in visits]
    places = locations_of(sub_technicians, sub_visits)
    rows = [problem.location_index[place] for place in places]
    travel = TravelMatrix(
        distance_m=[[problem.travel.distance_m[i][j] for j in rows] for i in rows],
        duration_s=[[problem.travel.duration_s[i][j] for j in rows] for i in rows],
    )
    sub_problem = RoutingProblem(tuple(sub_technicians), tuple(sub_visits), travel, problem.objective)
    local_of_visit = {v: k for k, v in enumerate(visits)}
    local_of_technician = {t: k for k, t in enumerate(technicians)}
    started = time.perf_counter()
    sub_request = dataclasses.replace(
        request,
        problem=sub_problem,
        planned=tuple(range(len(visits))),
        allowed={
            local_of_visit[v]: frozenset(local_of_technician[t] for t in allowed if t in chosen)
            for v, allowed in request.allowed.items()
            if v in local_of_visit
        },
        penalties={local_of_visit[v]: cost for v, cost in request.penalties.items() if v in local_of_visit},
        fixed_prefixes=tuple(
            tuple(local_of_visit[v] for v in request.fixed_prefixes[t]) for t in technicians
        ),
        preferred_technicians={
            local_of_visit[v]: local_of_technician[t]
            for v, t in request.preferred_technicians.items()
            if v in local_of_visit and t in chosen
        },
        initial_routes=tuple(tuple(local_of_visit[v] for v in route) for route in routes),
        started=started,
        deadline=started + seconds + DECODE_MARGIN_S,
    )
    model = Model(sub_request)
    routing = model.routing
    routing.CloseModelWithParameters(ils_parameters(sub_request, _PIECE_STRATEGY, seconds, model))
    current = model.restore(
        sub_request.initial_routes or (),
        search_parameters(sub_request, "AUTOMATIC", RESTORE_S, first_only=True),
    )
    if current is None:
        return None
    if not any(routes):
        # Nothing to start from (construction): OR-Tools' iterated local search
        # builds the piece's routes and improves them.
        built = routing.SolveWithIteratedLocalSearch(
            ils_parameters(sub_request, _PIECE_STRATEGY, seconds, model, _PIECE_TEMPERATURE_PER_NEAREST)
        )
        if built is None or built.ObjectiveValue() >= current.ObjectiveValue():
            return None
        return _PieceRoutes(
            [tuple(visits[v] for v in route) for route in model.routes_of(built)], "construction"
        )
    # A greedy descent from the current routes first: it takes a fraction of the
    # budget and is what a young plan needs.
    descended = routing.SolveFromAssignmentWithParameters(
        current, search_parameters(sub_request, "AUTOMATIC", seconds, descent=True)
    )
    if descended is not None and descended.ObjectiveValue() < current.ObjectiveValue():
        return _PieceRoutes(
            [tuple(visits[v] for v in route) for route in model.routes_of(descended)], "descent"
        )
    # A local optimum: search deeper, still from the current routes.
    found = ruin_and_descend(sub_request, model, current, seconds, rng)
    if found is None:
        return None
    return _PieceRoutes([tuple(visits[v] for v in route) for route in found], "ruin")


def ruin_and_descend(
    request: BackendRequest, model: Model, current: Any, seconds: float, rng: random.Random
) -> list[tuple[int, ...]] | None:
    """Large-neighbourhood search from ``current``: remove nearby visits, descend, keep gains.

    Each round takes the :data:`_RUIN_VISITS` served visits nearest to a
    random one out of the routes (visits of a fixed prefix stay) and lets a
    greedy descent put them back and tidy up: OR-Tools' operators insert the
    now unperformed visits, whose drop penalties make serving them pay. The
    cheapest routes found within ``seconds`` are returned, or ``None`` if no
    round beat ``current``.
    """
    problem = request.problem
    distance = problem.travel.distance_m
    place = [problem.location_index[visit.location] for visit in problem.visits]
    fixed = {v for prefix in request.fixed_prefixes for v in prefix}
    routes = model.routes_of(current)
    best_cost = current.ObjectiveValue()
    improved = False
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > MIN_PHASE_S:
        movable = [v for route in routes for v in route if v not in fixed]
        if not movable:
            return None
        centre = place[rng.choice(movable)]
        removed = set(sorted(movable, key=lambda v: distance[centre][place[v]])[:_RUIN_VISITS])
        attempt = model.restore(
            [[v for v in route if v not in removed] for route in routes],
            search_parameters(request, "AUTOMATIC", left, descent=True),
        )
        if attempt is not None and attempt.ObjectiveValue() < best_cost:
            best_cost = attempt.ObjectiveValue()
            routes = model.routes_of(attempt)
            improved = True
    return list(routes) if improved else None


def _locked_elsewhere(visit: Visit, problem: RoutingProblem, chosen: set[int]) -> bool:
    """True if ``visit`` is locked to a technician outside ``chosen``."""
    if visit.pin is None or not visit.pin.locked:
        return False
    return all(problem.technicians[t].id != visit.pin.technician_id for t in chosen)


def _kept_pin(visit: Visit) -> Pin | None:
    """The pin a visit keeps inside a piece: locked ones, without their position.

    Preferences are dropped (they only seed the start). Positions travel as
    the piece's fixed prefixes instead: the pins themselves may no longer
    number ``0..k-1`` once an infeasible one has been left out.
    """
    if visit.pin is None or not visit.pin.locked:
        return None
    return dataclasses.replace(visit.pin, position=None)
