"""The route-planning problem as plain, frozen, validated data.

A :class:`RoutingProblem` is one day for one group of technicians: who works
when and where (:class:`Technician`), what has to be done where and when
(:class:`Visit`), and how long it takes to get from place to place
(:class:`~dispatch.routing.matrix.TravelMatrix`). Times are whole seconds
since local midnight, distances whole metres; the unit is in every field name.

Everything is checked at construction, so a problem that exists is a problem
the solver can take: bad input fails early with a :class:`ValueError` that
names the offending technician or visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Union

from dispatch.geo import Location

if TYPE_CHECKING:
    from dispatch.routing.matrix import TravelMatrix, TravelMatrixProvider

#: Lowest and highest visit priority (5 is the most important).
MIN_PRIORITY = 1
MAX_PRIORITY = 5


@dataclass(frozen=True, slots=True)
class PlanarLocation:
    """A place on a flat map, in metres (benchmark data, synthetic worlds)."""

    x_m: float
    y_m: float


#: Either kind of place; a problem uses one kind, matching its matrix provider.
Place = Union[Location, PlanarLocation]


@dataclass(frozen=True, slots=True)
class Break:
    """A break of ``duration_s`` starting somewhere in ``[earliest_start_s, latest_start_s]``.

    It is taken between two visits (while driving or waiting), never in the
    middle of one.
    """

    earliest_start_s: int
    latest_start_s: int
    duration_s: int

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise ValueError(f"break duration_s must be >= 0, got {self.duration_s}")
        if self.latest_start_s < self.earliest_start_s:
            raise ValueError(
                f"break latest_start_s {self.latest_start_s} is before "
                f"earliest_start_s {self.earliest_start_s}"
            )


@dataclass(frozen=True, slots=True)
class Technician:
    """Someone who can be routed: a shift, a start and end place, skills.

    ``shift_start_s``/``shift_end_s`` bound leaving ``start`` and getting back to
    ``end``. ``capacity`` bounds the sum of the visits' ``demand`` (van stock,
    parts); ``None`` means unlimited.
    """

    id: str
    start: Place
    end: Place
    shift_start_s: int
    shift_end_s: int
    skills: frozenset[str] = frozenset()
    break_: Break | None = None
    capacity: int | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("technician id must not be empty")
        if self.shift_end_s < self.shift_start_s:
            raise ValueError(
                f"technician {self.id}: shift_end_s {self.shift_end_s} is before "
                f"shift_start_s {self.shift_start_s}"
            )
        if self.capacity is not None and self.capacity < 0:
            raise ValueError(f"technician {self.id}: capacity must be >= 0, got {self.capacity}")
        if not isinstance(self.skills, frozenset):
            raise ValueError(f"technician {self.id}: skills must be a frozenset")
        if self.break_ is not None:
            if (
                self.break_.earliest_start_s < self.shift_start_s
                or self.break_.latest_start_s + self.break_.duration_s > self.shift_end_s
            ):
                raise ValueError(f"technician {self.id}: break does not fit inside the shift")

    def has_skill(self, skill: str | None) -> bool:
        """True if the technician can do work needing ``skill`` (``None`` needs none)."""
        return skill is None or skill in self.skills


@dataclass(frozen=True, slots=True)
class Pin:
    """A dispatcher's decision the planner must keep.

    ``locked=True`` makes it hard: the visit is only ever given to
    ``technician_id`` and, when ``position`` is set, it stays at that 0-based
    index of the route (positions of one technician must be ``0..k-1``: the
    fixed start of the day, e.g. work already under way). ``locked=False`` is a
    preference: the visit starts on that technician (in that place) and the
    search may move it.
    """

    technician_id: str
    position: int | None = None
    locked: bool = True

    def __post_init__(self) -> None:
        if self.position is not None and self.position < 0:
            raise ValueError(f"pin position must be >= 0, got {self.position}")


@dataclass(frozen=True, slots=True)
class Visit:
    """A piece of work at a place, in a time window.

    The window bounds the *start* of service: service may begin anywhere in
    ``[window_start_s, window_end_s]`` and then lasts ``service_s``. Arriving
    early means waiting. ``priority`` (1..5, 5 highest) and ``sla_urgency``
    (0..1, 1 = the SLA is about to be breached) decide what is dropped first
    when there is not enough time for everything: lower priority first, and
    within a priority the less urgent first. ``due_s`` is when service should
    have started by (an SLA): starting later is allowed but every second late
    costs more than driving (0: as early as possible, the SLA is lost already).
    ``booked_start_s`` is the start the customer was given (a scheduled visit) and ``crew`` the
    technicians booked for it (lead first): preferences only, so that re-planning keeps what it
    can (a crew visit is formed with its booked members at its booked start when they are free).
    """

    id: str
    location: Place
    window_start_s: int
    window_end_s: int
    service_s: int
    required_skill: str | None = None
    priority: int = 3
    sla_urgency: float = 0.0
    demand: int = 0
    pin: Pin | None = None
    due_s: int | None = None
    crew_size: int = 1
    booked_start_s: int | None = None
    crew: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("visit id must not be empty")
        if self.crew_size < 1:
            raise ValueError(f"visit {self.id}: crew_size must be >= 1, got {self.crew_size}")
        if self.due_s is not None and self.due_s < 0:
            raise ValueError(f"visit {self.id}: due_s must be >= 0, got {self.due_s}")
        if self.service_s < 0:
            raise ValueError(f"visit {self.id}: service_s must be >= 0, got {self.service_s}")
        if self.window_end_s < self.window_start_s:
            raise ValueError(
                f"visit {self.id}: window_end_s {self.window_end_s} is before "
                f"window_start_s {self.window_start_s}"
            )
        if not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(
                f"visit {self.id}: priority must be in {MIN_PRIORITY}..{MAX_PRIORITY}, "
                f"got {self.priority}"
            )
        if not 0.0 <= self.sla_urgency <= 1.0:
            raise ValueError(f"visit {self.id}: sla_urgency must be in [0, 1], got {self.sla_urgency}")
        if self.demand < 0:
            raise ValueError(f"visit {self.id}: demand must be >= 0, got {self.demand}")


class Objective(str, Enum):
    """What the solver minimises once it serves as much as it can.

    ``TRAVEL_TIME`` (the field-service default) minimises driving time, with
    distance as a secondary term. ``DISTANCE`` minimises distance only: the
    benchmark convention (Solomon/DIMACS, the day instances).
    """

    TRAVEL_TIME = "travel_time"
    DISTANCE = "distance"


@dataclass(frozen=True, slots=True)
class DayGoals:
    """Soft goals of a field day on top of travel, in seconds of driving per second.

    ``wait_cost``: a second a technician is on duty but neither driving nor
    working (waiting on site for a window, or leaving earlier than needed)
    costs this many seconds of driving. ``balance_weight``: a second of a
    technician's work (driving plus service) above the fair share (the day's
    service time over the technicians) costs this many seconds of driving.
    Zero (the default, and the benchmarks') turns a goal off.
    """

    wait_cost: float = 0.0
    balance_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.wait_cost < 0:
            raise ValueError(f"wait_cost must be >= 0, got {self.wait_cost}")
        if self.balance_weight < 0:
            raise ValueError(f"balance_weight must be >= 0, got {self.balance_weight}")


def locations_of(technicians: Sequence[Technician], visits: Sequence[Visit]) -> tuple[Place, ...]:
    """The distinct places of a problem, in the order its travel matrix must follow.

    Order of first appearance over: each technician's start then end, then
    each visit. Technicians sharing a depot share one row of the matrix.
    """
    seen: dict[Place, None] = {}
    for technician in technicians:
        seen.setdefault(technician.start)
        seen.setdefault(technician.end)
    for visit in visits:
        seen.setdefault(visit.location)
    return tuple(seen)


@dataclass(frozen=True)
class RoutingProblem:
    """One planning problem: technicians, visits and the travel matrix between their places.

    ``travel`` must be indexed like :func:`locations_of` (see also
    :meth:`build`, which calls a provider for you). ``objective`` selects what
    is minimised after coverage (see :class:`Objective`).
    """

    technicians: tuple[Technician, ...]
    visits: tuple[Visit, ...]
    travel: TravelMatrix
    objective: Objective = Objective.TRAVEL_TIME
    goals: DayGoals = DayGoals()
    location_index: dict[Place, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "technicians", tuple(self.technicians))
        object.__setattr__(self, "visits", tuple(self.visits))
        _ensure_unique("technician", [technician.id for technician in self.technicians])
        _ensure_unique("visit", [visit.id for visit in self.visits])
        if not self.technicians:
            raise ValueError("a routing problem needs at least one technician")
        places = locations_of(self.technicians, self.visits)
        kinds = {type(place) for place in places}
        if len(kinds) > 1:
            raise ValueError("a problem must use one kind of place (Location or PlanarLocation)")
        if self.travel.size != len(places):
            raise ValueError(
                f"travel matrix covers {self.travel.size} places, the problem has {len(places)} "
                "(build it from locations_of(technicians, visits))"
            )
        object.__setattr__(self, "location_index", {place: i for i, place in enumerate(places)})
        technician_ids = {technician.id for technician in self.technicians}
        positions: dict[str, list[int]] = {}
        for visit in self.visits:
            if visit.pin is None:
                continue
            if visit.pin.technician_id not in technician_ids:
                raise ValueError(
                    f"visit {visit.id} is pinned to unknown technician {visit.pin.technician_id}"
                )
            if visit.pin.locked and visit.pin.position is not None:
                positions.setdefault(visit.pin.technician_id, []).append(visit.pin.position)
        for technician_id, taken in positions.items():
            if sorted(taken) != list(range(len(taken))):
                raise ValueError(
                    f"technician {technician_id}: locked pin positions must be 0..{len(taken) - 1} "
                    f"without gaps or repeats, got {sorted(taken)}"
                )

    @classmethod
    def build(
        cls,
        technicians: Sequence[Technician],
        visits: Sequence[Visit],
        provider: TravelMatrixProvider,
        objective: Objective = Objective.TRAVEL_TIME,
        goals: DayGoals = DayGoals(),
    ) -> RoutingProblem:
        """Make a problem, asking ``provider`` for the matrix of its places."""
        places = locations_of(technicians, visits)
        return cls(
            technicians=tuple(technicians),
            visits=tuple(visits),
            travel=provider.matrix(places),
            objective=objective,
            goals=goals,
        )

    def technician(self, technician_id: str) -> Technician:
        """The technician with this id (``KeyError`` if unknown)."""
        for technician in self.technicians:
            if technician.id == technician_id:
                return technician
        raise KeyError(technician_id)

    def index_of(self, place: Place) -> int:
        """Row/column of ``place`` in :attr:`travel`."""
        return self.location_index[place]


def _ensure_unique(kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for identifier in ids:
        if identifier in seen:
            raise ValueError(f"duplicate {kind} id {identifier!r}")
        seen.add(identifier)
