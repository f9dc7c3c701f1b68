"""The planner's iterated local search at a fixed amount of work: figures the machine's load cannot move.

On a shared machine a 10 s run gets anything from a fifth of a core to all of it, and one
instance's gap moves by several points from run to run: two settings compared at the wall
clock differ by the load as much as by the search. This runs the search phase that decides
the quality of days up to :data:`~dispatch.routing.ortools_backend.DECOMPOSE_ABOVE_VISITS`
visits the way :func:`dispatch.routing.ortools_search.solve` does (every construction and its
descent ranked, the ruin size from the best one, then OR-Tools' iterated local search), but
stops it after ``--solutions`` solutions rather than a time limit, then takes it to a local
optimum with a greedy descent. The annealing then cools by solutions found, so a run is
reproducible: the same code, instance and seed give the same plan at any load. Compare two
versions of the planner by running this in each checkout (old and new) on the same instances
and seeds; the CPU seconds per 1,000 solutions (measured, so loosely) tell whether a change made
the search slower.

Usage::

    python benchmarks/routing_ils_work.py [--solutions 8000] [--seeds 2] [--data DIR] NAME ...

A 10 s run on a quiet machine finds about 12,000 solutions on a 100-customer Solomon instance.
The gap is of the distance once every customer is served (the checks of
``routing_solomon.py`` apply to the time-limited planner, not to this partial search).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from dispatch.routing import solver
from dispatch.routing.backend import BackendOutcome, BackendRequest
from dispatch.routing.bench import DIMACS_SCALE, read_solomon
from dispatch.routing.ortools_model import (
    Model,
    Monitor,
    ils_parameters,
    search_parameters,
)
from dispatch.routing.ortools_search import _rank_constructions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from routing_solomon import DEFAULT_DATA, best_known, family

#: Time limits far above what the searches take: the solution limit stops them.
_NO_TIME_LIMIT_S = 3600.0


class _FixedWork:
    """An engine (:class:`~dispatch.routing.backend.Backend`) that runs the search for a number of solutions."""

    def __init__(self, solutions: int) -> None:
        self.solutions = solutions
        self.ils_cpu_s = 0.0
        self.distance = 0.0

    def solve(self, request: BackendRequest) -> BackendOutcome:
        """Rank the constructions, run the ILS for ``solutions`` solutions, descend; remember the distance."""
        started = time.perf_counter()
        request = dataclasses.replace(request, started=started, deadline=started + _NO_TIME_LIMIT_S)
        monitor = Monitor(started)
        strategies, ruin_visits = _rank_constructions(request, monitor, [], [])
        model = Model(request)
        parameters = ils_parameters(request, strategies[0], _NO_TIME_LIMIT_S, model, removed_visits=ruin_visits)
        parameters.solution_limit = self.solutions
        model.routing.CloseModelWithParameters(parameters)
        cpu = time.process_time()
        found = model.routing.SolveWithIteratedLocalSearch(parameters)
        self.ils_cpu_s += time.process_time() - cpu
        descent = search_parameters(request, "AUTOMATIC", _NO_TIME_LIMIT_S, descent=True)
        descent.lns_time_limit.FromSeconds(60)  # no operator cut short by the clock on a busy machine
        descended = model.routing.SolveFromAssignmentWithParameters(found, descent)
        best: Any = descended if descended is not None else found
        routes = model.routes_of(best)
        served = sum(map(len, routes))
        self.distance = best.ObjectiveValue() / DIMACS_SCALE if served == len(request.planned) else float("inf")
        return BackendOutcome(routes=routes, break_gaps=model.break_gaps_of(best), objective=best.ObjectiveValue())


def main() -> int:
    """Run the instances, print the gap per seed, the mean per family and overall, and the search's speed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--solutions", type=int, default=8000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    bks = best_known(args.data)
    engine = _FixedWork(args.solutions)
    # The planner's orchestration (penalties, pins, checks) with this engine behind it.
    sys.modules[__name__ + ".engine"] = engine  # type: ignore[assignment]
    solver.ENGINE = __name__ + ".engine"
    families: dict[str, list[float]] = {}
    runs = 0
    for name in args.names:
        _, problem = read_solomon(args.data / f"{name}.txt")
        gaps = []
        for seed in range(args.seeds):
            solver.solve(problem, time_limit_s=_NO_TIME_LIMIT_S, seed=seed)
            best = bks[name.upper()]
            gaps.append(100.0 * (engine.distance - best) / best)
            runs += 1
        families.setdefault(family(name), []).extend(gaps)
        print(f"{name:9} " + " ".join(f"{gap:6.2f}" for gap in gaps), flush=True)
    everything = [gap for gaps in families.values() for gap in gaps]
    for name, gaps in sorted(families.items()):
        print(f"{name:6} {len(gaps):3d} runs  mean gap {sum(gaps) / len(gaps):5.2f} %")
    print(f"mean gap {sum(everything) / len(everything):.2f} % over {runs} runs at {args.solutions} solutions; "
          f"{1000 * engine.ils_cpu_s / args.solutions / runs:.3f} CPU s per 1,000 solutions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
