"""Crews: visits that need several technicians on site together (a water-heater install, a heavy unit).

OR-Tools' routing local search moves one visit at a time, while a crew visit only exists whole
(every member there, one start), so crews are planned around the search rather than inside it:

1. each crew visit, most important first, gets a crew and a start (:func:`_form_crews`): the
   lead is a technician with the skill (or the one it is locked to), the helpers (no skill
   needed: the skill counts for the crew) are the other free technicians nearest to it, and the
   start is the earliest, in :data:`STEP_S` steps through its window, at which every member can
   get there from the start of the day and home again, clear of the crews already formed, of
   promised slots and with room left for the break; the least busy technicians are taken first,
   and helpers without the skill before skilled ones. A visit already booked (``booked_start_s``,
   ``crew``: a re-plan, an insertion) tries its booked start first and keeps its booked members
   where they are free, so only what must change changes (an ill helper is replaced on site by
   someone free then; only if nobody is does the visit move whole); among the others, those
   whose own booked visits leave them free then come first;
2. the visit becomes one part per member, each locked to its member with the start fixed (a
   window ``[t, t]``); the lead's part keeps the visit's id and skill;
3. the day is solved as usual around these parts (:func:`dispatch.routing.solver.solve`);
4. a crew visit of which a part was dropped is dropped whole (its other parts leave their routes,
   which are re-timed), and the parts are folded back into the visit: the helpers' stops carry
   ``helper=True``.

Because the parts are locked pins, a formed crew outranks unpinned visits when the day is too
full, like a promised slot. Work under way (a pin with a position) stays with the technician
doing it and is not re-crewed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

from dispatch.routing.matrix import TravelMatrix
from dispatch.routing.problem import Break, Pin, RoutingProblem, Technician, Visit, locations_of
from dispatch.routing.result import RoutingResult, Stop, Unassigned, UnassignedReason

#: Candidate starts of a crew visit are this far apart through its window.
STEP_S = 15 * 60
#: At most this many candidate starts are tried per crew visit (a long window is sampled).
MAX_CANDIDATES = 64
#: A locked visit whose window is at most this wide holds its technician's time when crews are formed.
NARROW_S = 2 * 3600
#: A helper's part of crew visit ``V`` is the visit ``V`` + this + the member's number (2, 3...).
PART_MARK = "#crew"

Solve = Callable[[RoutingProblem, float, int, Mapping[str, Sequence[str]] | None], RoutingResult]


def needs_crews(problem: RoutingProblem) -> bool:
    """True if some visit needs more than one technician (and is not work under way)."""
    return any(_is_crew(visit) for visit in problem.visits)


def _is_crew(visit: Visit) -> bool:
    return visit.crew_size > 1 and not (visit.pin is not None and visit.pin.position is not None)


@dataclasses.dataclass(frozen=True, slots=True)
class Crew:
    """A crew visit's members (the lead first) and its fixed start."""

    visit: Visit
    members: tuple[str, ...]
    start_s: int


def solve_with_crews(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int,
    initial_routes: Mapping[str, Sequence[str]] | None,
    solve: Solve,
) -> RoutingResult:
    """Plan a day with crew visits: form the crews, solve around their parts, fold them back."""
    started = time.perf_counter()
    crews, no_crew = _form_crews(problem)
    split = _split(problem, crews)
    left = max(0.05, time_limit_s - (time.perf_counter() - started))
    result = solve(split, left, seed, _warm(initial_routes, crews))
    return _fold(problem, split, crews, no_crew, result)


# --- forming crews --------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Busy:
    """What a technician is committed to so far: (start, finish, matrix row) of crew parts."""

    parts: list[tuple[int, int, int]] = dataclasses.field(default_factory=list)

    @property
    def seconds(self) -> int:
        return sum(finish - start for start, finish, _ in self.parts)


def _form_crews(problem: RoutingProblem) -> tuple[list[Crew], list[Visit]]:
    """A crew and start for each crew visit that can have one; the others (no crew free).

    Locked visits with a narrow window (a promised slot) count as busy time from the start.
    """
    busy = {technician.id: _Busy() for technician in problem.technicians}
    for visit in problem.visits:
        if (
            visit.pin is not None and visit.pin.locked and visit.pin.technician_id in busy
            and not _is_crew(visit) and visit.window_end_s - visit.window_start_s <= NARROW_S
        ):
            busy[visit.pin.technician_id].parts.append(
                (visit.window_start_s, visit.window_end_s + visit.service_s, problem.location_index[visit.location])
            )
    crews: list[Crew] = []
    no_crew: list[Visit] = []
    order = sorted(
        (visit for visit in problem.visits if _is_crew(visit)),
        key=lambda visit: (-visit.priority, -visit.sla_urgency, visit.window_end_s, visit.id),
    )
    held = _held(problem)
    for visit in order:
        crew = _crew_for(problem, visit, busy, held)
        if crew is None:
            no_crew.append(visit)
            continue
        place = problem.location_index[visit.location]
        for member in crew.members:
            busy[member].parts.append((crew.start_s, crew.start_s + visit.service_s, place))
        crews.append(crew)
    return crews, no_crew


def _candidate_starts(visit: Visit) -> list[int]:
    span = visit.window_end_s - visit.window_start_s
    step = max(STEP_S, -(-span // MAX_CANDIDATES))
    starts = list(range(visit.window_start_s, visit.window_end_s + 1, step))
    if starts[-1] != visit.window_end_s:
        starts.append(visit.window_end_s)
    booked = visit.booked_start_s
    if booked is not None and visit.window_start_s <= booked <= visit.window_end_s:
        starts = [booked, *(start for start in starts if start != booked)]
    return starts


def _held(problem: RoutingProblem) -> dict[str, list[tuple[int, int, int]]]:
    """Each technician's other booked visits (start, finish, matrix row): kept with them unless
    moving pays, so a crew member whose own bookings clash is the last choice."""
    held: dict[str, list[tuple[int, int, int]]] = {}
    for visit in problem.visits:
        if visit.pin is not None and visit.booked_start_s is not None and not _is_crew(visit):
            held.setdefault(visit.pin.technician_id, []).append(
                (visit.booked_start_s, visit.booked_start_s + visit.service_s, problem.location_index[visit.location]))
    return held


def _clashes(problem: RoutingProblem, held: Sequence[tuple[int, int, int]], start: int, finish: int,
             here: int) -> int:
    """How many of ``held`` leave no time to drive to or from ``[start, finish)`` at ``here``."""
    duration = problem.travel.duration_s
    return sum(
        not (finish + duration[here][there] <= other_start or other_finish + duration[there][here] <= start)
        for other_start, other_finish, there in held
    )


def _crew_for(problem: RoutingProblem, visit: Visit, busy: Mapping[str, _Busy],
              held: Mapping[str, Sequence[tuple[int, int, int]]]) -> Crew | None:
    """The booked crew at the booked start where it can be, else the earliest start at which a
    full crew is free, with the nearest technicians."""
    place = problem.location_index[visit.location]
    duration = problem.travel.duration_s
    locked_to = visit.pin.technician_id if visit.pin is not None and visit.pin.locked else None
    preferred = visit.pin.technician_id if visit.pin is not None else None
    start = 0

    def clashes(technician: Technician) -> int:
        return _clashes(problem, held.get(technician.id, ()), start, start + visit.service_s, place)

    def lead_order(technician: Technician) -> tuple[bool, int, int, int, str]:
        drive = duration[problem.location_index[technician.start]][place]
        return (technician.id != preferred, clashes(technician), busy[technician.id].seconds, drive, technician.id)

    def helper_order(technician: Technician) -> tuple[bool, int, bool, int, int, str]:
        # Helpers without the skill first: the skilled ones are kept for work only they can do.
        drive = duration[problem.location_index[technician.start]][place]
        return (technician.id not in visit.crew, clashes(technician), technician.has_skill(visit.required_skill),
                busy[technician.id].seconds, drive, technician.id)

    for start in _candidate_starts(visit):
        free = [t for t in problem.technicians if _fits(problem, t, visit, start, busy[t.id])]
        leads = sorted(
            (t for t in free if t.has_skill(visit.required_skill) and locked_to in (None, t.id)), key=lead_order
        )
        if not leads or len(free) < visit.crew_size:
            continue
        lead = leads[0]
        helpers = sorted((t for t in free if t.id != lead.id), key=helper_order)[: visit.crew_size - 1]
        return Crew(visit, (lead.id, *(t.id for t in helpers)), start)
    return None


def _fits(problem: RoutingProblem, technician: Technician, visit: Visit, start: int, busy: _Busy) -> bool:
    """Can ``technician`` be at ``visit`` from ``start`` for its service, given the crews so far?

    From the start place and back home within the shift, with time to drive to and from every
    crew part already taken, and clear of a fixed break (a floating one is left to the search).
    """
    duration = problem.travel.duration_s
    here = problem.location_index[visit.location]
    finish = start + visit.service_s
    home, depot = problem.location_index[technician.end], problem.location_index[technician.start]
    if start - duration[depot][here] < technician.shift_start_s:
        return False
    if finish + duration[here][home] > technician.shift_end_s:
        return False
    pause = technician.break_
    if pause is not None and not _break_fits(pause, [*busy.parts, (start, finish, here)]):
        return False
    for other_start, other_finish, there in busy.parts:
        before = finish + duration[here][there] <= other_start
        after = other_finish + duration[there][here] <= start
        if not (before or after):
            return False
    return True


def _break_fits(pause: Break, parts: Sequence[tuple[int, int, int]]) -> bool:
    """Is there a gap of the break's length, starting in its window, between the parts (driving
    aside: the search finds the exact place, and a crew it cannot keep is dropped whole)?"""
    latest_end = pause.latest_start_s + pause.duration_s
    clock = pause.earliest_start_s
    for start, finish, _ in sorted(parts):
        if finish <= clock:
            continue
        if start >= latest_end:
            break
        if start - clock >= pause.duration_s:
            return True
        clock = max(clock, finish)
    return clock <= pause.latest_start_s


# --- the day with crews as parts ------------------------------------------------------------------


def part_id(visit_id: str, member: int) -> str:
    """The id of member ``member``'s part (0: the lead, who keeps the visit's id)."""
    return visit_id if member == 0 else f"{visit_id}{PART_MARK}{member + 1}"


def _split(problem: RoutingProblem, crews: Sequence[Crew]) -> RoutingProblem:
    """The day with each formed crew visit as one locked, fixed-time part per member."""
    visits = [visit for visit in problem.visits if not _is_crew(visit)]
    parts: list[Visit] = []
    for crew in sorted(crews, key=lambda crew: (crew.start_s, crew.visit.id)):
        for member, technician_id in enumerate(crew.members):
            parts.append(dataclasses.replace(
                crew.visit,
                id=part_id(crew.visit.id, member),
                window_start_s=crew.start_s,
                window_end_s=crew.start_s,
                required_skill=crew.visit.required_skill if member == 0 else None,
                demand=crew.visit.demand if member == 0 else 0,
                pin=Pin(technician_id),
                due_s=None,
                crew_size=1,
            ))
    visits += parts
    return reindexed(problem, visits)


def reindexed(problem: RoutingProblem, visits: Sequence[Visit]) -> RoutingProblem:
    """``problem`` with other visits (at places it has), its matrix cut to match."""
    places = locations_of(problem.technicians, visits)
    rows = [problem.location_index[place] for place in places]
    travel = TravelMatrix(
        distance_m=[[problem.travel.distance_m[i][j] for j in rows] for i in rows],
        duration_s=[[problem.travel.duration_s[i][j] for j in rows] for i in rows],
    )
    return RoutingProblem(problem.technicians, tuple(visits), travel, problem.objective, problem.goals)


def _warm(initial_routes: Mapping[str, Sequence[str]] | None, crews: Sequence[Crew]) -> dict[str, list[str]] | None:
    """The caller's warm start with crew visits left to their pins (their parts place them)."""
    if initial_routes is None:
        return None
    crewed = {crew.visit.id for crew in crews}
    return {t: [v for v in route if v not in crewed] for t, route in initial_routes.items()}


def _fold(
    problem: RoutingProblem,
    split: RoutingProblem,
    crews: Sequence[Crew],
    no_crew: Sequence[Visit],
    result: RoutingResult,
) -> RoutingResult:
    """The split day's plan in the terms of ``problem``: crew parts back into their visits.

    A crew visit with a part left out is left out whole: its other parts leave their routes,
    which are re-timed (dropping a stop never makes a route infeasible when the matrix obeys the
    triangle inequality; if it did, that is an engine bug and raises).
    """
    from dispatch.routing.solver import RoutingInvariantError, schedule_route

    of_part = {
        part_id(crew.visit.id, member): (crew.visit.id, member > 0)
        for crew in crews
        for member in range(len(crew.members))
    }
    served_parts = {stop.visit_id for route in result.routes for stop in route.stops}
    incomplete = {
        crew.visit.id
        for crew in crews
        if any(part_id(crew.visit.id, m) not in served_parts for m in range(len(crew.members)))
    }
    index_of = {visit.id: v for v, visit in enumerate(split.visits)}
    routes = []
    for route in result.routes:
        kept = [stop for stop in route.stops if of_part.get(stop.visit_id, (None,))[0] not in incomplete]
        if len(kept) != len(route.stops):
            technician = split.technician(route.technician_id)
            timing = schedule_route(split, technician, [index_of[stop.visit_id] for stop in kept])
            if timing is None:
                raise RoutingInvariantError(f"route of {technician.id} breaks a rule once a crew left it")
            route = timing
        routes.append(dataclasses.replace(route, stops=tuple(_folded(stop, of_part) for stop in route.stops)))
    unassigned: dict[str, Unassigned] = {}
    for item in result.unassigned:
        visit_id, helper = of_part.get(item.visit_id, (item.visit_id, False))
        if helper:
            continue
        original = next(visit for visit in problem.visits if visit.id == visit_id)
        if visit_id in of_part and (item.reason is UnassignedReason.PIN_INFEASIBLE) and not (
            original.pin is not None and original.pin.locked
        ):
            item = _no_crew(original)
        unassigned[visit_id] = dataclasses.replace(item, visit_id=visit_id)
    for visit_id in incomplete:
        if visit_id not in unassigned:
            unassigned[visit_id] = _no_crew(next(v for v in problem.visits if v.id == visit_id))
    for visit in no_crew:
        unassigned[visit.id] = _no_crew(visit)
    order = {visit.id: v for v, visit in enumerate(problem.visits)}
    stats = dict(result.stats)
    stats["crews"] = {"formed": len(crews) - len(incomplete), "dropped": len(incomplete) + len(no_crew)}
    return RoutingResult(
        routes=tuple(routes),
        unassigned=tuple(sorted(unassigned.values(), key=lambda item: order[item.visit_id])),
        objective=result.objective,
        stats=stats,
    )


def _folded(stop: Stop, of_part: Mapping[str, tuple[str, bool]]) -> Stop:
    if stop.visit_id not in of_part:
        return stop
    visit_id, helper = of_part[stop.visit_id]
    return dataclasses.replace(stop, visit_id=visit_id, helper=helper)


def _no_crew(visit: Visit) -> Unassigned:
    return Unassigned.because(visit.id, UnassignedReason.NO_CREW, size=visit.crew_size)

