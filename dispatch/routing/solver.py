"""``solve(problem, time_limit_s, seed, initial_routes) -> RoutingResult``: the planner's one entry point.

Pure orchestration around the search engine:

1. **Pre-checks.** Visits nobody can do (no skilled technician, window outside
   every shift, unreachable even alone, pinned somewhere impossible) are
   reported unassigned with that reason and never reach the solver.
2. **Search.** The rest goes to the OR-Tools backend (imported lazily, so
   ``import dispatch.routing`` stays light). Every visit is optional with a
   penalty that grows with priority and SLA urgency, so a plan always comes
   back and the least important visits are the first dropped.
3. **Decode and check.** Routes are re-timed from the travel matrix here, not
   copied from the solver, and checked (windows, shifts, break, load); a
   violation is a bug and raises :class:`RoutingInvariantError`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatch.routing import crews
from dispatch.routing.backend import ENGINE, Backend, BackendOutcome, BackendRequest, SolveParams
from dispatch.routing.problem import MAX_PRIORITY, Objective, RoutingProblem, Technician
from dispatch.routing.result import (
    Route,
    RoutingResult,
    Stop,
    Unassigned,
    UnassignedReason,
)

#: Arc cost per second of driving when the objective is travel time; a metre costs 1,
#: so distance only separates plans whose driving times are (almost) equal.
TRAVEL_TIME_COST_PER_S = 100

#: Penalty multiplier between two consecutive priority levels: dropping one visit of
#: priority p costs as much as dropping this many of priority p - 1.
PRIORITY_PENALTY_BASE = 10

#: The penalty of the least important visit is this many times the longest arc: well
#: above any detour (at most twice the longest arc), so serving a visit that fits always
#: pays, and large enough that the search does not trade visits for shorter drives.
PENALTY_DETOUR_FACTOR = 100

#: Locked pins rank above the highest priority: they were promised to the customer.
LOCKED_PIN_PRIORITY = MAX_PRIORITY + 1

#: A second of service started after a visit's due time (``Visit.due_s``) costs as much as this
#: many seconds of driving: the planner meets an SLA whenever some technician can, and otherwise
#: starts the visit as early as it can. Far below a drop penalty: lateness never drops a visit.
LATENESS_DRIVING_S_PER_S = 10


class RoutingInvariantError(RuntimeError):
    """The engine returned a plan that breaks a hard rule (a bug, never bad input)."""


@dataclass(frozen=True, slots=True)
class _Timing:
    stops: tuple[Stop, ...]
    start_s: int
    end_s: int
    distance_m: int
    travel_s: int
    break_start_s: int | None


def solve(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int = 0,
    initial_routes: Mapping[str, Sequence[str]] | None = None,
    params: SolveParams | None = None,
) -> RoutingResult:
    """Plan the day: assign visits to technicians and order them, within ``time_limit_s``.

    Parameters
    ----------
    problem:
        The validated problem (technicians, visits, travel matrix, objective).
    time_limit_s:
        Wall-clock budget for the whole call, model building included.
    seed:
        OR-Tools' routing search has no seed of its own: this one permutes the
        order in which visits are handed to it (its heuristics break ties by
        index, so each seed explores differently; 0 keeps the problem order)
        and picks which pieces of a large day are re-optimised. The annealing
        follows the wall clock, so runs with the same seed match only as far
        as the machine's speed does.
    initial_routes:
        Warm start, e.g. yesterday's plan or the plan being re-optimised:
        technician id -> visit ids in order. Unknown ids are ignored and
        visits that no longer fit are left for the solver to place.
    params:
        Search settings (``None``: :class:`SolveParams` defaults).

    Returns
    -------
    RoutingResult
        One route per technician (in problem order, possibly empty) and every
        other visit in ``unassigned`` with a reason.
    """
    started = time.perf_counter()
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be > 0, got {time_limit_s}")
    params = params or SolveParams()
    if crews.needs_crews(problem):
        return crews.solve_with_crews(
            problem, time_limit_s, seed, initial_routes,
            lambda split, limit, seed_, warm: solve(split, limit, seed_, warm, params),
        )
    unassigned: dict[int, Unassigned] = {}
    allowed: dict[int, frozenset[int]] = {}
    planned: list[int] = []
    everyone = frozenset(range(len(problem.technicians)))
    for v in range(len(problem.visits)):
        verdict = _precheck(problem, v)
        if isinstance(verdict, Unassigned):
            unassigned[v] = verdict
            continue
        planned.append(v)
        if verdict != everyone:
            allowed[v] = verdict
    fixed_prefixes = _fixed_prefixes(problem, planned, unassigned)
    planned = [v for v in planned if v not in unassigned]
    time_cost, distance_cost = (
        (TRAVEL_TIME_COST_PER_S, 1) if problem.objective is Objective.TRAVEL_TIME else (0, 1)
    )
    lateness_cost = (
        _driving_cost(problem, LATENESS_DRIVING_S_PER_S, time_cost, distance_cost)
        if any(problem.visits[v].due_s is not None for v in planned)
        else 0
    )
    penalties = _penalties(problem, planned, fixed_prefixes, time_cost, distance_cost, lateness_cost)
    warm_start = _warm_start(problem, planned, allowed, fixed_prefixes, initial_routes)
    preferred, reassignment_cost = _preferences(
        problem, warm_start, fixed_prefixes, params.reassignment_cost_s, time_cost, distance_cost
    )
    if planned:
        outcome = _backend().solve(
            BackendRequest(
                problem=problem,
                planned=tuple(planned),
                allowed=allowed,
                penalties=penalties,
                fixed_prefixes=fixed_prefixes,
                initial_routes=warm_start,
                time_cost_per_s=time_cost,
                distance_cost_per_m=distance_cost,
                started=started,
                deadline=started + time_limit_s,
                seed=seed,
                params=params,
                preferred_technicians=preferred,
                reassignment_cost=reassignment_cost,
                lateness_cost_per_s=lateness_cost,
            )
        )
    else:
        outcome = BackendOutcome(
            routes=tuple(() for _ in problem.technicians),
            break_gaps=tuple(None for _ in problem.technicians),
            objective=0,
            stats={"status": "NOTHING_TO_PLAN", "strategy": None, "first_solution_s": 0.0},
        )
    routes = _decode(problem, outcome)
    served = {visit_id for route in routes for visit_id in route.visit_ids}
    for v in planned:
        if problem.visits[v].id not in served:
            unassigned[v] = Unassigned.because(problem.visits[v].id, UnassignedReason.CAPACITY)
    stats = dict(outcome.stats)
    stats.update(seed=seed, time_limit_s=time_limit_s, wall_s=time.perf_counter() - started)
    return RoutingResult(
        routes=routes,
        unassigned=tuple(unassigned[v] for v in sorted(unassigned)),
        objective=outcome.objective,
        stats=stats,
    )


def _backend() -> Backend:
    """The engine, imported on first use so that ``import dispatch.routing`` stays light."""
    return importlib.import_module(ENGINE)  # type: ignore[return-value]


def _schedule(
    problem: RoutingProblem,
    technician: Technician,
    visits: Sequence[int],
    break_gap: int | None = None,
) -> _Timing | None:
    """Time a route (visit indices in order) as early as possible; ``None`` if infeasible.

    Driving starts at the shift start; the departure is then moved as late as it can
    go without delaying the first service (with the break first, it is taken before
    leaving when it fits there). The break (if any) is taken in gap
    ``break_gap`` (0: before the first visit, ``len(visits)``: on the way back or
    after), as early as its window allows; ``None`` tries every gap, earliest first.
    A technician with no visits stays put: no driving, no break.
    """
    if not visits:
        shift_start = technician.shift_start_s
        return _Timing((), shift_start, shift_start, 0, 0, None)
    if technician.break_ is not None and break_gap is None:
        for gap in range(len(visits) + 1):
            timing = _schedule(problem, technician, visits, gap)
            if timing is not None:
                return timing
        return None
    if technician.capacity is not None:
        if sum(problem.visits[v].demand for v in visits) > technician.capacity:
            return None
    distance_m = problem.travel.distance_m
    duration_s = problem.travel.duration_s
    index_of = problem.location_index
    at = index_of[technician.start]
    free_s = technician.shift_start_s
    pending = technician.break_
    break_start: int | None = None
    raw: list[tuple[int, int, int, int, int]] = []
    total_m = total_s = 0
    for position in range(len(visits) + 1):
        if position < len(visits):
            visit = problem.visits[visits[position]]
            target = index_of[visit.location]
        else:
            visit = None
            target = index_of[technician.end]
        leg_s = duration_s[at][target]
        leg_m = distance_m[at][target]
        arrival = free_s + leg_s
        earliest_start = arrival
        if pending is not None and position == break_gap:
            break_start = max(pending.earliest_start_s, free_s)
            if break_start > pending.latest_start_s:
                return None
            if break_start < arrival:
                arrival += pending.duration_s
            earliest_start = max(arrival, break_start + pending.duration_s)
            pending = None
        total_s += leg_s
        total_m += leg_m
        if visit is None:
            end_s = arrival
            if end_s > technician.shift_end_s:
                return None
            break
        start = max(earliest_start, visit.window_start_s)
        if start > visit.window_end_s:
            return None
        raw.append((arrival, start, start + visit.service_s, leg_s, leg_m))
        free_s = start + visit.service_s
        at = target
    if break_gap != 0:
        arrival, start, finish, leg_s, leg_m = raw[0]
        depart = max(technician.shift_start_s, start - leg_s)
        raw[0] = (depart + leg_s, start, finish, leg_s, leg_m)
        start_s = depart
    else:
        start_s = technician.shift_start_s
        pause = technician.break_
        assert pause is not None and break_start is not None
        arrival, start, finish, leg_s, leg_m = raw[0]
        depart = start - leg_s
        before = min(pause.latest_start_s, depart - pause.duration_s)
        if depart > start_s and before >= max(pause.earliest_start_s, start_s):
            # The break is taken before leaving, and the technician leaves in time for the first
            # visit instead of at the shift start (which left them waiting on site for hours).
            raw[0] = (depart + leg_s, start, finish, leg_s, leg_m)
            start_s, break_start = depart, before
    stops = tuple(
        Stop(
            visit_id=problem.visits[v].id,
            arrival_s=arrival,
            start_s=start,
            finish_s=finish,
            travel_from_prev_s=leg_s,
            distance_from_prev_m=leg_m,
        )
        for v, (arrival, start, finish, leg_s, leg_m) in zip(visits, raw)
    )
    return _Timing(stops, start_s, end_s, total_m, total_s, break_start)


def schedule_route(problem: RoutingProblem, technician: Technician, visits: Sequence[int]) -> Route | None:
    """The technician's route serving ``visits`` (indices, in order), timed as early as possible;
    ``None`` if it breaks a window, the shift, the break or the load."""
    timing = _schedule(problem, technician, visits)
    if timing is None:
        return None
    return Route(
        technician_id=technician.id, stops=timing.stops, start_s=timing.start_s, end_s=timing.end_s,
        distance_m=timing.distance_m, travel_s=timing.travel_s, break_start_s=timing.break_start_s,
    )


def _precheck(problem: RoutingProblem, v: int) -> frozenset[int] | Unassigned:
    """Technicians who could serve visit ``v`` alone, or why nobody can."""
    visit = problem.visits[v]
    pinned = visit.pin is not None and visit.pin.locked
    skilled = [
        t
        for t, technician in enumerate(problem.technicians)
        if technician.has_skill(visit.required_skill)
    ]
    if not skilled:
        return Unassigned.because(
            visit.id, UnassignedReason.NO_SKILLED_TECHNICIAN, skill=visit.required_skill
        )
    if pinned:
        assert visit.pin is not None
        skilled = [t for t in skilled if problem.technicians[t].id == visit.pin.technician_id]
        if not skilled:
            return Unassigned.because(visit.id, UnassignedReason.PIN_INFEASIBLE)
    in_shift = [
        t
        for t in skilled
        if visit.window_start_s <= problem.technicians[t].shift_end_s
        and visit.window_end_s >= problem.technicians[t].shift_start_s
    ]
    if not in_shift:
        return Unassigned.because(
            visit.id,
            UnassignedReason.PIN_INFEASIBLE if pinned else UnassignedReason.WINDOW_OUTSIDE_ALL_SHIFTS,
        )
    loadable = [
        t
        for t in in_shift
        if problem.technicians[t].capacity is None
        or visit.demand <= (problem.technicians[t].capacity or 0)
    ]
    if not loadable:
        return Unassigned.because(
            visit.id, UnassignedReason.PIN_INFEASIBLE if pinned else UnassignedReason.CAPACITY
        )
    alone: dict[tuple[object, ...], bool] = {}
    reachable = []
    for t in loadable:
        technician = problem.technicians[t]
        # Technicians with the same places, shift and break reach a visit alike.
        key = (technician.start, technician.end, technician.shift_start_s,
               technician.shift_end_s, technician.break_)
        if key not in alone:
            alone[key] = _schedule(problem, technician, (v,)) is not None
        if alone[key]:
            reachable.append(t)
    if not reachable:
        return Unassigned.because(
            visit.id,
            UnassignedReason.PIN_INFEASIBLE if pinned else UnassignedReason.UNREACHABLE_IN_WINDOW,
        )
    return frozenset(reachable)


def _fixed_prefixes(
    problem: RoutingProblem, planned: Sequence[int], unassigned: dict[int, Unassigned]
) -> tuple[tuple[int, ...], ...]:
    """Per technician, the locked-position visits that open the route, in order.

    A pinned visit that cannot follow the ones before it (window, shift) is
    reported as ``pin_infeasible`` and the rest of the prefix closes up.
    """
    by_technician: dict[str, list[tuple[int, int]]] = {}
    for v in planned:
        pin = problem.visits[v].pin
        if pin is not None and pin.locked and pin.position is not None:
            by_technician.setdefault(pin.technician_id, []).append((pin.position, v))
    prefixes = []
    for technician in problem.technicians:
        prefix: list[int] = []
        for _, v in sorted(by_technician.get(technician.id, [])):
            if _schedule(problem, technician, [*prefix, v]) is None:
                unassigned[v] = Unassigned.because(
                    problem.visits[v].id, UnassignedReason.PIN_INFEASIBLE
                )
            else:
                prefix.append(v)
        prefixes.append(tuple(prefix))
    return tuple(prefixes)


def _penalties(
    problem: RoutingProblem,
    planned: Sequence[int],
    fixed_prefixes: Sequence[Sequence[int]],
    time_cost_per_s: int,
    distance_cost_per_m: int,
    lateness_cost_per_s: int = 0,
) -> dict[int, int]:
    """Cost of leaving each visit out; visits of a fixed prefix get none (they are mandatory).

    The unit is far more than the largest detour a visit can cause, plus all the
    lateness the day could ever have, so serving a visit is always worth it when
    it fits; it is multiplied by ``PRIORITY_PENALTY_BASE ** (priority - 1)`` and
    by ``1 + sla_urgency`` (less than one priority step), so lower priorities go
    first, then the less urgent.
    """
    longest_s = max(max(row) for row in problem.travel.duration_s)
    longest_m = max(max(row) for row in problem.travel.distance_m)
    late_s = sum(
        max(0, problem.visits[v].window_end_s - problem.visits[v].due_s)  # type: ignore[operator]
        for v in planned
        if problem.visits[v].due_s is not None
    )
    unit = (
        PENALTY_DETOUR_FACTOR * (longest_s * time_cost_per_s + longest_m * distance_cost_per_m)
        + lateness_cost_per_s * late_s
        + 1
    )
    mandatory = {v for prefix in fixed_prefixes for v in prefix}
    penalties = {}
    for v in planned:
        if v in mandatory:
            continue
        visit = problem.visits[v]
        level = LOCKED_PIN_PRIORITY if visit.pin is not None and visit.pin.locked else visit.priority
        weight = PRIORITY_PENALTY_BASE ** (level - 1) * (1.0 + visit.sla_urgency)
        penalties[v] = int(unit * weight)
    return penalties


def _warm_start(
    problem: RoutingProblem,
    planned: Sequence[int],
    allowed: Mapping[int, frozenset[int]],
    fixed_prefixes: Sequence[Sequence[int]],
    initial_routes: Mapping[str, Sequence[str]] | None,
) -> tuple[tuple[int, ...], ...] | None:
    """A feasible starting plan from the caller's routes and the pins, or ``None`` if neither.

    Each technician's route is its fixed prefix, then the caller's visits in
    their order, then its other pinned visits; a visit is kept only if it may
    go to that technician, is not placed yet and the route stays feasible.
    """
    pinned_elsewhere = [
        v
        for v in planned
        if problem.visits[v].pin is not None
        and not any(v in prefix for prefix in fixed_prefixes)
    ]
    if initial_routes is None and not pinned_elsewhere and not any(fixed_prefixes):
        return None
    index_of_visit = {visit.id: v for v, visit in enumerate(problem.visits)}
    plannable = set(planned)
    placed = {v for prefix in fixed_prefixes for v in prefix}
    routes = []
    for t, technician in enumerate(problem.technicians):
        route = list(fixed_prefixes[t])
        wanted = [
            index_of_visit[visit_id]
            for visit_id in (initial_routes or {}).get(technician.id, ())
            if visit_id in index_of_visit
        ]
        wanted += [
            v
            for v in pinned_elsewhere
            if problem.visits[v].pin.technician_id == technician.id  # type: ignore[union-attr]
        ]
        for v in wanted:
            if v in placed or v not in plannable or t not in allowed.get(v, {t}):
                continue
            if _schedule(problem, technician, [*route, v]) is not None:
                route.append(v)
                placed.add(v)
        routes.append(tuple(route))
    return tuple(routes)


def _preferences(
    problem: RoutingProblem,
    warm_start: Sequence[Sequence[int]] | None,
    fixed_prefixes: Sequence[Sequence[int]],
    reassignment_cost_s: int,
    time_cost_per_s: int,
    distance_cost_per_m: int,
) -> tuple[dict[int, int], int]:
    """Each warm-start visit's technician, and the cost of serving it with another one.

    The cost is ``reassignment_cost_s`` seconds of driving in objective units
    (metres at the matrix's mean speed when the objective is distance). Fixed
    prefixes need no preference: they cannot move.
    """
    if warm_start is None or reassignment_cost_s == 0:
        return {}, 0
    fixed = {v for prefix in fixed_prefixes for v in prefix}
    preferred = {v: t for t, route in enumerate(warm_start) for v in route if v not in fixed}
    return preferred, _driving_cost(problem, reassignment_cost_s, time_cost_per_s, distance_cost_per_m)


def _driving_cost(problem: RoutingProblem, seconds: int, time_cost_per_s: int, distance_cost_per_m: int) -> int:
    """``seconds`` of driving in objective units (metres at the matrix's mean speed count too)."""
    metres = sum(sum(row) for row in problem.travel.distance_m)
    total_s = sum(sum(row) for row in problem.travel.duration_s)
    metres_per_s = metres / total_s if total_s else 0.0
    return seconds * time_cost_per_s + round(seconds * metres_per_s * distance_cost_per_m)


def _decode(problem: RoutingProblem, outcome: BackendOutcome) -> tuple[Route, ...]:
    """Re-time the engine's routes from the matrix and check every hard rule."""
    seen: set[int] = set()
    routes = []
    for t, technician in enumerate(problem.technicians):
        visits = outcome.routes[t]
        for v in visits:
            if v in seen:
                raise RoutingInvariantError(f"visit {problem.visits[v].id} is planned twice")
            seen.add(v)
            visit = problem.visits[v]
            if not technician.has_skill(visit.required_skill):
                raise RoutingInvariantError(
                    f"visit {visit.id} given to {technician.id} who lacks {visit.required_skill}"
                )
            if visit.pin is not None and visit.pin.locked and visit.pin.technician_id != technician.id:
                raise RoutingInvariantError(f"locked visit {visit.id} moved to {technician.id}")
        timing = None
        gap = outcome.break_gaps[t] if technician.break_ is not None else None
        if gap is not None:
            timing = _schedule(problem, technician, visits, gap)
        if timing is None:
            timing = _schedule(problem, technician, visits)
        if timing is None:
            raise RoutingInvariantError(f"route of {technician.id} breaks a window, shift or load")
        routes.append(
            Route(
                technician_id=technician.id,
                stops=timing.stops,
                start_s=timing.start_s,
                end_s=timing.end_s,
                distance_m=timing.distance_m,
                travel_s=timing.travel_s,
                break_start_s=timing.break_start_s,
            )
        )
    return tuple(routes)
