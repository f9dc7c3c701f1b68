"""What the planner hands back: routes of timed stops, and the visits it could not place.

Every time in a result was recomputed from the problem's travel matrix (not
copied from the solver), so it can be shown to a dispatcher and checked
independently. Every visit of the problem is either in exactly one route or
in :attr:`RoutingResult.unassigned`, with a reason a dispatcher can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class UnassignedReason(str, Enum):
    """Why a visit is not in the plan (stable codes, safe to store and to translate)."""

    NO_SKILLED_TECHNICIAN = "no_skilled_technician"
    """No technician of the problem has the visit's required skill."""
    WINDOW_OUTSIDE_ALL_SHIFTS = "window_outside_all_shifts"
    """The visit's window does not overlap the shift of any technician who could do it."""
    UNREACHABLE_IN_WINDOW = "unreachable_in_window"
    """Even alone in a route, no skilled technician can get there in the window and back in time."""
    PIN_INFEASIBLE = "pin_infeasible"
    """Pinned to a technician (and position) that cannot serve it in its window or skill."""
    NO_CREW = "no_crew"
    """Needs a crew: not enough technicians (one of them skilled) are free together in its window."""
    CAPACITY = "capacity"
    """Could be served alone, but not together with the visits that were kept (lack of time or
    load); the ones kept have a higher priority or urgency, or fit better."""


_HUMAN_TEXT = {
    UnassignedReason.NO_SKILLED_TECHNICIAN: "no technician has the skill {skill!r}",
    UnassignedReason.WINDOW_OUTSIDE_ALL_SHIFTS: (
        "its time window does not overlap the shift of any technician who has the skill"
    ),
    UnassignedReason.UNREACHABLE_IN_WINDOW: (
        "no skilled technician can reach it within its time window and get back before the shift ends"
    ),
    UnassignedReason.PIN_INFEASIBLE: (
        "the technician (and position) it is pinned to cannot serve it in its time window"
    ),
    UnassignedReason.NO_CREW: (
        "it needs a crew of {size} technicians, one of them skilled, and no such crew is free together "
        "in its time window"
    ),
    UnassignedReason.CAPACITY: (
        "not enough technician time (or load) left once higher-priority visits were planned"
    ),
}


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit in a route, with its times in seconds since local midnight.

    ``arrival_s`` is when the technician gets there, ``start_s`` when service
    starts (later if they wait for the window), ``finish_s`` when it ends.
    ``travel_from_prev_s``/``distance_from_prev_m`` are the leg from the
    previous stop (or the route start). ``helper`` marks a crew visit's
    stop of a technician who helps the lead (the lead's stop has ``False``;
    every member of the crew starts at the same ``start_s``).
    """

    visit_id: str
    arrival_s: int
    start_s: int
    finish_s: int
    travel_from_prev_s: int
    distance_from_prev_m: int
    helper: bool = False

    @property
    def wait_s(self) -> int:
        """Time spent waiting on site for the window to open (or after a break)."""
        return self.start_s - self.arrival_s


@dataclass(frozen=True, slots=True)
class Route:
    """A technician's day: leave the start at ``start_s``, serve ``stops`` in order, be back at ``end_s``.

    ``distance_m``/``travel_s`` include the way back to the end place.
    ``break_start_s`` is when the break starts, if the technician has one.
    """

    technician_id: str
    stops: tuple[Stop, ...]
    start_s: int
    end_s: int
    distance_m: int
    travel_s: int
    break_start_s: int | None = None

    @property
    def visit_ids(self) -> tuple[str, ...]:
        """The visits in the order they are served."""
        return tuple(stop.visit_id for stop in self.stops)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A visit left out of the plan: a stable ``reason`` code and a sentence for people."""

    visit_id: str
    reason: UnassignedReason
    detail: str

    @classmethod
    def because(cls, visit_id: str, reason: UnassignedReason, **facts: Any) -> Unassigned:
        """Build one with the standard human text for ``reason`` (``facts`` fill it in)."""
        return cls(visit_id=visit_id, reason=reason, detail=_HUMAN_TEXT[reason].format(**facts))


@dataclass(frozen=True)
class RoutingResult:
    """A plan: one route per technician (possibly empty), the unassigned visits, and how it went.

    ``objective`` is the solver's own objective value (travel cost plus the
    penalties of dropped visits), only comparable between runs of the same
    problem. ``stats`` records how the search went: ``status``,
    ``strategy`` (first-solution strategy that won), ``first_solution_s``,
    ``wall_s``, ``seed``, and backend details.
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    objective: int
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def distance_m(self) -> int:
        """Total distance driven, all routes."""
        return sum(route.distance_m for route in self.routes)

    @property
    def travel_s(self) -> int:
        """Total driving time, all routes."""
        return sum(route.travel_s for route in self.routes)

    @property
    def served_count(self) -> int:
        """Number of visits in a route (a crew visit counts once)."""
        return sum(1 for route in self.routes for stop in route.stops if not stop.helper)

    @property
    def used_routes(self) -> tuple[Route, ...]:
        """Routes with at least one stop."""
        return tuple(route for route in self.routes if route.stops)

    def route_of(self, technician_id: str) -> Route:
        """The route of one technician (``KeyError`` if unknown)."""
        for route in self.routes:
            if route.technician_id == technician_id:
                return route
        raise KeyError(technician_id)

    def summary(self) -> str:
        """A few human-readable lines: coverage, distance, time, reasons for drops."""
        reasons: dict[str, int] = {}
        for item in self.unassigned:
            reasons[item.reason.value] = reasons.get(item.reason.value, 0) + 1
        dropped = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        lines = [
            f"served {self.served_count} visits with {len(self.used_routes)} of "
            f"{len(self.routes)} technicians",
            f"distance {self.distance_m / 1000:.1f} km, driving {self.travel_s / 3600:.2f} h",
            f"unassigned {len(self.unassigned)}" + (f" ({dropped})" if dropped else ""),
            f"solver {self.stats.get('status', '?')}, strategy {self.stats.get('strategy', '?')}, "
            f"first solution {self.stats.get('first_solution_s', float('nan')):.2f} s, "
            f"wall {self.stats.get('wall_s', float('nan')):.2f} s",
        ]
        return "\n".join(lines)
