"""The search schedule of a day (up to :data:`~dispatch.routing.ortools_backend.DECOMPOSE_ABOVE_VISITS`
visits) on the OR-Tools model of :mod:`dispatch.routing.ortools_model`.

At most one visit the search may move: the first plan and a descent, nothing more. Otherwise:

0. every first-solution strategy of :class:`SolveParams` builds a plan and a
   descent takes it to a local optimum; the cheapest one picks the strategy the
   search starts from, and its routes set the ruin size (:func:`_rank_constructions`);
1. OR-Tools' iterated local search from a first plan of that strategy: SISR ruin (strings of
   neighbouring visits removed, about 0.7 of an average route), cheapest-insertion recreate,
   simulated-annealing acceptance; in rounds on a fresh model with another
   node order each, best run kept. A round lasts :func:`_ils_round_s` (small
   days converge in a fraction of a second, 100 visits and more get
   :data:`_ILS_RESTART_S`), and the rounds stop after one that found nothing
   better than those before it;
2. when the caller gave a warm start, guided local search from it;
3. guided local search from the best plan (ILS does not polish its perturbed
   plans; long routes need 2-opt and or-opt). Both guided searches stop once
   they have found nothing cheaper for :func:`_patience_s`. The cheapest plan
   seen wins. So a small day comes back in well under a second and a large
   one uses its time limit.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from dispatch.routing.backend import BackendOutcome, BackendRequest
from dispatch.routing.ortools_model import (
    MIN_PHASE_S,
    CpuShare,
    Model,
    Monitor,
    better,
    ils_parameters,
    outcome,
    remaining,
    search_parameters,
)

#: Iterated local search is restarted (fresh model, other node order) every this many
#: seconds of its budget; the best run wins. One long annealing run varies a lot from
#: run to run; the best of several shorter ones is steadier and better.
_ILS_RESTART_S = 10.0

#: Small days converge in far less: a round lasts this many CPU seconds per squared visit
#: (2 visits: the minimum; 20: 0.4 s; 100 or more: the full restart period), and the
#: search stops after the first round that finds nothing better than the rounds before.
#: Measured on generated field days (5 technicians, 2-hour windows): the last improvement
#: of a 5 s annealing run came at 0.0 s for 2 and 5 jobs, 0.004 s for 20, 1.8 s for 40.
_ILS_S_PER_SQUARED_VISIT = 0.001
_ILS_MIN_ROUND_S = 0.2

#: Iterated local search needs at least this many visits it may move.
_ILS_MIN_MOVABLE = 2

#: Guided local search (the warm start, the final polish) stops after this long without
#: a cheaper plan: this many seconds per visit, within the bounds.
_PATIENCE_S_PER_VISIT = 0.01
_PATIENCE_MIN_S = 0.2

_PATIENCE_MAX_S = 2.0

#: Share of the budget for the final guided-local-search polish of the best plan.
_POLISH_SHARE = 0.15

#: Share of the budget kept for polishing a warm start with GLS (after ILS from scratch).
_WARM_START_SHARE = 0.3

#: SISR ruin size: a string of about this share of an average route (the routes of the
#: best construction), within the bounds. Long routes (wide windows, few vehicles) need
#: long strings removed to change their order; short ones are spoilt by them. On all 56
#: Solomon instances at 10 s (a third of a core), mean gap 1.97 % with 10 everywhere,
#: 1.82 % scaled (R2 2.51 -> 2.24 %, RC2 4.06 -> 3.08 %).
_RUIN_SHARE_OF_ROUTE = 0.7
_RUIN_MIN_VISITS = 8
_RUIN_MAX_VISITS = 25

#: Each construction and its descent may take at most this share of the time left.
_CONSTRUCTION_SHARE = 0.05


def solve(request: BackendRequest) -> BackendOutcome:
    """Build the model, find a first plan, improve it until it stops improving or the deadline."""
    fixed = {v for prefix in request.fixed_prefixes for v in prefix}
    if len(request.planned) - len(fixed) < _ILS_MIN_MOVABLE:
        return _solve_trivial(request)
    size = len(request.planned)
    patience = _patience_s(size)
    cpu_share = CpuShare()
    budget = remaining(request)
    warm_share = 0.0 if request.initial_routes is None else _WARM_START_SHARE
    ils_seconds = (1.0 - warm_share - _POLISH_SHARE) * budget
    ils_end = time.perf_counter() + ils_seconds
    monitor = Monitor(request.started)
    models: list[Model] = []
    runs: list[tuple[int, Model, Any]] = []
    strategy = "ALL_UNPERFORMED"
    phases = []
    strategies, ruin_visits = _rank_constructions(request, monitor, runs, models)
    # A round is an amount of search (CPU seconds): on a busy machine it lasts longer.
    rounds = max(1, int((ils_end - time.perf_counter()) // cpu_share.wall_s(_ils_round_s(size))))
    if runs:
        phases.append("constructions")
    for k in range(rounds):
        # Each round gets a fresh model (ILS does worse after another search on the
        # same one) and its own node order, hence its own path through the search.
        model = Model(request if k == 0 else dataclasses.replace(request, seed=request.seed + k))
        model.routing.CloseModelWithParameters(ils_parameters(request, "AUTOMATIC", 1.0, model))
        monitor.watch(model)
        models.append(model)
        seconds = (ils_end - time.perf_counter()) / (rounds - k)
        before = min((run[0] for run in runs), default=None) if k else None
        for name in strategies:
            found = model.routing.SolveWithIteratedLocalSearch(
                ils_parameters(request, name, max(seconds, MIN_PHASE_S), model, removed_visits=ruin_visits)
            )
            if found is not None:
                runs.append((found.ObjectiveValue(), model, found))
                strategy = name
                phases.append("iterated_local_search")
                break
        if before is not None and min(run[0] for run in runs) >= before:
            break  # a whole round from another start found nothing better: stalled
    if runs:
        _, model, best = min(runs, key=lambda run: run[0])
    else:
        model, best = models[0], None
    if request.initial_routes is not None:
        monitor.stall_after(patience)
        polished = models[0].restore(
            request.initial_routes,
            search_parameters(request, "AUTOMATIC", max(warm_share * budget, MIN_PHASE_S)),
        )
        if polished is not None:
            phases.append("guided_local_search")
            if better(best, polished) is polished:
                model, best = models[0], polished
    routing = model.routing
    if best is not None and remaining(request) > MIN_PHASE_S:
        # ILS never polishes its perturbed plans; a last local search does (2-opt and
        # or-opt inside long routes above all), until it stops improving.
        monitor.stall_after(patience)
        polished = routing.SolveFromAssignmentWithParameters(
            best, search_parameters(request, "AUTOMATIC", remaining(request))
        )
        best = better(best, polished)
        phases.append("polish")
    monitor.stall_after(None)
    if best is None:
        best = routing.SolveWithParameters(
            search_parameters(request, strategy, 1.0, first_only=True)
        )
    return outcome(model, best, monitor, strategy=strategy, phases=phases, restarts=len(models),
                    stopped_early=monitor.stopped)


def _rank_constructions(
    request: BackendRequest, monitor: Monitor, runs: list[tuple[int, Model, Any]], models: list[Model]
) -> tuple[list[str], int]:
    """The first-solution strategies, best first, and the ruin size for this day.

    Each strategy of :class:`SolveParams` builds a plan on a scratch model, then a greedy
    descent takes it to a local optimum (milliseconds for 100 visits); the search starts
    from the strategy whose plan came out cheapest. Where the annealing starts matters with
    a budget of thousands of iterations rather than millions: on RC208 at 10 s parallel
    cheapest insertion led to 13.6 % above the best known, savings to 1.7 %; over all 56
    Solomon instances, mean 1.72 -> 1.60 % and the worst 13.6 -> 6.1 %. The descended
    plans join the candidates (``runs``), and the routes of the best one set the ruin size
    (:data:`_RUIN_SHARE_OF_ROUTE`).
    """
    ranked: list[tuple[int, str, Model, Any]] = []
    for name in request.params.first_solution_strategies:
        model = Model(request)
        descent = search_parameters(request, name, max(remaining(request) * _CONSTRUCTION_SHARE, MIN_PHASE_S),
                                    descent=True)
        model.routing.CloseModelWithParameters(descent)
        monitor.watch(model)
        found = model.routing.SolveWithParameters(descent)
        if found is not None:
            ranked.append((found.ObjectiveValue(), name, model, found))
    if not ranked:
        return list(request.params.first_solution_strategies), _RUIN_MIN_VISITS
    ranked.sort(key=lambda item: item[0])
    cost, _, model, found = ranked[0]
    runs.append((cost, model, found))
    models.append(model)
    used = [route for route in model.routes_of(found) if route]
    mean_route = sum(map(len, used)) / len(used) if used else 0.0
    ruin = min(_RUIN_MAX_VISITS, max(_RUIN_MIN_VISITS, round(_RUIN_SHARE_OF_ROUTE * mean_route)))
    ranked_names = [name for _, name, _, _ in ranked]
    return ranked_names + [n for n in request.params.first_solution_strategies if n not in ranked_names], ruin


def _solve_trivial(request: BackendRequest) -> BackendOutcome:
    """At most one visit the search could move: the first plan and a descent are the answer.

    Iterated local search has nothing to perturb there (and OR-Tools' ruin step
    needs a performed visit to draw); a descent tries every place for the one visit.
    """
    model = Model(request)
    routing = model.routing
    monitor = Monitor(request.started)
    monitor.watch(model)
    found, strategy = None, "ALL_UNPERFORMED"
    for name in request.params.first_solution_strategies:
        parameters = search_parameters(request, name, max(remaining(request), MIN_PHASE_S), descent=True)
        found = routing.SolveWithParameters(parameters)
        if found is not None:
            strategy = name
            break
    if found is None:
        found = routing.SolveWithParameters(search_parameters(request, "ALL_UNPERFORMED", 1.0, first_only=True))
    return outcome(model, found, monitor, strategy=strategy, phases=["descent"], stopped_early=True)


def _ils_round_s(size: int) -> float:
    """Length of one iterated-local-search round for ``size`` visits (see :data:`_ILS_S_PER_SQUARED_VISIT`)."""
    return min(_ILS_RESTART_S, max(_ILS_MIN_ROUND_S, _ILS_S_PER_SQUARED_VISIT * size * size))


def _patience_s(size: int) -> float:
    """How long a guided local search may go without a better plan before it stops."""
    return min(_PATIENCE_MAX_S, max(_PATIENCE_MIN_S, _PATIENCE_S_PER_VISIT * size))
