"""An independent feasibility checker for routing results.

Written from the rules, not from the solver: it shares no code with
``dispatch.routing.solver`` or the backend, only reads the problem's data and
the result's numbers, and recomputes every leg from the travel matrix.
"""

from __future__ import annotations

from dispatch.routing import RoutingProblem, RoutingResult


def violations(problem: RoutingProblem, result: RoutingResult) -> list[str]:
    """Every broken rule of ``result`` for ``problem``, as sentences (empty: feasible)."""
    found: list[str] = []
    visits = {visit.id: visit for visit in problem.visits}
    technicians = {technician.id: technician for technician in problem.technicians}
    index = {place: i for i, place in enumerate(_places(problem))}
    seconds = problem.travel.duration_s
    metres = problem.travel.distance_m

    routed = [stop.visit_id for route in result.routes for stop in route.stops if not stop.helper]
    found += _crew_violations(problem, result)
    left_out = [item.visit_id for item in result.unassigned]
    for visit_id in set(routed + left_out):
        count = routed.count(visit_id) + left_out.count(visit_id)
        if count != 1:
            found.append(f"visit {visit_id} appears {count} times (routes + unassigned)")
    missing = set(visits) - set(routed) - set(left_out)
    if missing:
        found.append(f"visits neither routed nor unassigned: {sorted(missing)}")
    unknown = (set(routed) | set(left_out)) - set(visits)
    if unknown:
        found.append(f"unknown visits in the result: {sorted(unknown)}")
    if sorted(route.technician_id for route in result.routes) != sorted(technicians):
        found.append("there must be exactly one route per technician")

    for route in result.routes:
        technician = technicians[route.technician_id]
        who = f"route of {technician.id}"
        if route.start_s < technician.shift_start_s:
            found.append(f"{who} starts at {route.start_s}, before the shift")
        if route.end_s > technician.shift_end_s:
            found.append(f"{who} ends at {route.end_s}, after the shift")
        if not route.stops:
            if (route.distance_m, route.travel_s, route.break_start_s) != (0, 0, None):
                found.append(f"{who}: an idle technician neither drives nor takes a break")
            continue
        at = index[technician.start]
        clock = route.start_s
        total_m = total_s = 0
        load = 0
        gaps: list[tuple[int, int, int]] = []  # (free from, next service start, leg seconds)
        positioned: list[tuple[int, int, int | str]] = []  # (stop index, pinned position, id)
        for position, stop in enumerate(route.stops):
            visit = visits[stop.visit_id]
            here = index[visit.location]
            leg_s, leg_m = seconds[at][here], metres[at][here]
            if (stop.travel_from_prev_s, stop.distance_from_prev_m) != (leg_s, leg_m):
                found.append(f"{who}: leg to {visit.id} is not the matrix's ({leg_s} s, {leg_m} m)")
            if stop.arrival_s < clock + leg_s:
                found.append(f"{who}: arrives at {visit.id} faster than the matrix allows")
            if stop.start_s < stop.arrival_s:
                found.append(f"{who}: starts {visit.id} before arriving")
            if not visit.window_start_s <= stop.start_s <= visit.window_end_s:
                found.append(
                    f"{who}: starts {visit.id} at {stop.start_s}, outside "
                    f"[{visit.window_start_s}, {visit.window_end_s}]"
                )
            if stop.finish_s != stop.start_s + visit.service_s:
                found.append(f"{who}: {visit.id} does not last its service time")
            lead = not stop.helper
            if lead and visit.required_skill is not None and visit.required_skill not in technician.skills:
                found.append(f"{who}: {technician.id} lacks {visit.required_skill} for {visit.id}")
            if lead and visit.pin is not None and visit.pin.locked:
                if visit.pin.technician_id != technician.id:
                    found.append(f"{who}: {visit.id} is locked to {visit.pin.technician_id}")
                if visit.pin.position is not None:
                    positioned.append((position, visit.pin.position, visit.id))
            gaps.append((clock, stop.start_s, leg_s))
            clock = stop.finish_s
            at = here
            total_m += leg_m
            total_s += leg_s
            load += visit.demand if lead else 0
        # Locked positions open the route in their order (a dropped one closes up).
        if [stop for stop, _, _ in positioned] != list(range(len(positioned))) or [
            pinned for _, pinned, _ in positioned
        ] != sorted(pinned for _, pinned, _ in positioned):
            found.append(f"{who}: locked positions {positioned} do not open the route in order")
        home = index[technician.end]
        back_s = seconds[at][home]
        gaps.append((clock, route.end_s, back_s))
        if route.end_s < clock + back_s:
            found.append(f"{who}: back at the end faster than the matrix allows")
        total_m += metres[at][home]
        total_s += back_s
        if (route.distance_m, route.travel_s) != (total_m, total_s):
            found.append(f"{who}: totals {route.distance_m} m/{route.travel_s} s, legs say {total_m}/{total_s}")
        if technician.capacity is not None and load > technician.capacity:
            found.append(f"{who}: load {load} over capacity {technician.capacity}")
        pause = technician.break_
        if pause is None:
            if route.break_start_s is not None:
                found.append(f"{who}: has a break but the technician has none")
            continue
        if route.break_start_s is None:
            found.append(f"{who}: the break is missing")
            continue
        begin = route.break_start_s
        if not pause.earliest_start_s <= begin <= pause.latest_start_s:
            found.append(f"{who}: break at {begin} outside its window")
        for stop in route.stops:
            if begin < stop.finish_s and stop.start_s < begin + pause.duration_s:
                found.append(f"{who}: break overlaps the service of {stop.visit_id}")
        fits = (
            begin >= route.end_s
            or begin + pause.duration_s <= route.start_s
            or any(
                free <= begin
                and begin + pause.duration_s <= until
                and until - free >= leg + pause.duration_s
                for free, until, leg in gaps
            )
        )
        if not fits:
            found.append(f"{who}: no room for both the drive and the break at {begin}")
    return found


def _crew_violations(problem: RoutingProblem, result: RoutingResult) -> list[str]:
    """A served visit has its whole crew: one lead and ``crew_size - 1`` helpers (work under way,
    pinned to a position, may go on with its lead alone), each a different technician, all
    starting together; an unserved one has no helper anywhere."""
    found: list[str] = []
    crews: dict[str, list[tuple[str, bool, int]]] = {}
    for route in result.routes:
        for stop in route.stops:
            crews.setdefault(stop.visit_id, []).append((route.technician_id, stop.helper, stop.start_s))
    for visit in problem.visits:
        members = crews.get(visit.id, [])
        helpers = sum(1 for _, helper, _ in members if helper)
        if not members:
            continue
        if len(members) == helpers:
            found.append(f"visit {visit.id} has helpers but no lead")
            continue
        under_way = visit.pin is not None and visit.pin.position is not None
        if helpers != visit.crew_size - 1 and not (under_way and helpers == 0):
            found.append(f"visit {visit.id} needs a crew of {visit.crew_size}, has {helpers + 1}")
        if len({technician for technician, _, _ in members}) != len(members):
            found.append(f"visit {visit.id}: one technician counted twice in its crew")
        if len({start for _, _, start in members}) != 1:
            found.append(f"visit {visit.id}: the crew does not start together {sorted(members)}")
    return found


def _places(problem: RoutingProblem) -> list[object]:
    """Distinct places in matrix order: technician starts and ends, then visits."""
    order: list[object] = []
    for technician in problem.technicians:
        for place in (technician.start, technician.end):
            if place not in order:
                order.append(place)
    for visit in problem.visits:
        if visit.location not in order:
            order.append(visit.location)
    return order
