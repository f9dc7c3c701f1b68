"""The contract between the planner's orchestration (:mod:`dispatch.routing.solver`) and a search
engine: plain data in (:class:`BackendRequest`, in problem indices), plain data out
(:class:`BackendOutcome`), and the search settings callers may tune (:class:`SolveParams`).

The engine is :mod:`dispatch.routing.ortools_backend` (:data:`ENGINE`), the one door to OR-Tools;
it is imported lazily so that ``import dispatch.routing`` does not load OR-Tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dispatch.routing.problem import RoutingProblem

#: The module implementing :class:`Backend`.
ENGINE = "dispatch.routing.ortools_backend"


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Search settings with defaults that suit both field-service days and benchmarks.

    ``first_solution_strategies`` are OR-Tools first-solution strategy names
    (``routing_enums_pb2.FirstSolutionStrategy``), tried in order until one
    finds a plan; that one also restarts the iterated local search.
    Parallel cheapest insertion comes first because it copes with tight
    windows and leads the search to better plans than savings, even where
    savings starts cheaper. ``guided_local_search_lambda`` is GLS's penalty
    weight (OR-Tools default 0.1), used to polish a warm start.
    ``reassignment_cost_s`` is what moving a visit of the warm start (or with
    a preference pin) to another technician costs, in seconds of driving: a
    re-plan or an urgent insertion keeps each customer's technician unless
    changing it saves more than that (0: re-optimise freely).
    ``log_search`` turns on OR-Tools' own search log (stderr).
    """

    first_solution_strategies: tuple[str, ...] = (
        "PARALLEL_CHEAPEST_INSERTION",
        "LOCAL_CHEAPEST_INSERTION",
        "SAVINGS",
    )
    guided_local_search_lambda: float = 0.1
    reassignment_cost_s: int = 900
    log_search: bool = False

    def __post_init__(self) -> None:
        if not self.first_solution_strategies:
            raise ValueError("first_solution_strategies must not be empty")
        if self.guided_local_search_lambda <= 0:
            raise ValueError("guided_local_search_lambda must be > 0")
        if self.reassignment_cost_s < 0:
            raise ValueError("reassignment_cost_s must be >= 0")


@dataclass(frozen=True, slots=True)
class BackendRequest:
    """What the engine is asked to do, in problem indices (technician ``t``, visit ``v``).

    ``planned`` lists the visits to route. ``allowed[v]`` restricts a visit to some
    technicians (absent: anyone). ``penalties[v]`` is the cost of leaving it out
    (absent: it must be served). ``fixed_prefixes[t]`` are visits that must open
    technician ``t``'s route in that order. ``initial_routes`` is a feasible warm start.
    Serving visit ``v`` with another technician than ``preferred_technicians[v]``
    costs ``reassignment_cost`` (in objective units).
    """

    problem: RoutingProblem
    planned: tuple[int, ...]
    allowed: Mapping[int, frozenset[int]]
    penalties: Mapping[int, int]
    fixed_prefixes: tuple[tuple[int, ...], ...]
    initial_routes: tuple[tuple[int, ...], ...] | None
    time_cost_per_s: int
    distance_cost_per_m: int
    started: float
    deadline: float
    seed: int
    params: SolveParams
    preferred_technicians: Mapping[int, int] = field(default_factory=dict)
    reassignment_cost: int = 0
    lateness_cost_per_s: int = 0


@dataclass(frozen=True, slots=True)
class BackendOutcome:
    """The engine's answer: visit indices per technician, objective, stats.

    ``break_gaps[t]`` tells where technician ``t`` takes the break: after this
    many visits of the route (``None``: no break).
    """

    routes: tuple[tuple[int, ...], ...]
    break_gaps: tuple[int | None, ...]
    objective: int
    stats: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """A search engine: plans the request's visits within its deadline (a module with ``solve``)."""

    def solve(self, request: BackendRequest) -> BackendOutcome:
        """Routes for every technician, never past ``request.deadline`` by more than a decode."""
        ...
