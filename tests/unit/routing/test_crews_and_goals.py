"""Crews (``Visit.crew_size``) and a field day's soft goals (``DayGoals``): every plan is checked by the
independent checker, which knows crews (one lead, the helpers, one start, distinct technicians)."""

from __future__ import annotations

from checker import violations

from dispatch.routing import Break, EuclideanMatrix, Pin, PlanarLocation, RoutingProblem, Technician, Visit, solve
from dispatch.routing.problem import DayGoals
from dispatch.routing.result import UnassignedReason

LIMIT_S = 1.0
HOUR = 3600
P = PlanarLocation
DEPOT = P(0, 0)
HEATER = "water_heater:install"


def tech(tech_id: str, skills: tuple[str, ...] = (), start: PlanarLocation = DEPOT, **kw) -> Technician:
    return Technician(tech_id, start, start, 8 * HOUR, 18 * HOUR, skills=frozenset(skills), **kw)


def build(technicians, visits, goals: DayGoals = DayGoals()) -> RoutingProblem:
    return RoutingProblem.build(technicians, visits, EuclideanMatrix(speed_kmh=30.0), goals=goals)


def crew_of(result, visit_id: str) -> list[tuple[str, bool, int]]:
    return sorted((route.technician_id, stop.helper, stop.start_s)
                  for route in result.routes for stop in route.stops if stop.visit_id == visit_id)


def test_a_crew_visit_gets_a_skilled_lead_and_a_helper_on_site_together() -> None:
    problem = build(
        [tech("ann", (HEATER,)), tech("bob"), tech("cy")],
        [
            Visit("install", P(5_000, 0), 9 * HOUR, 12 * HOUR, 3 * HOUR, required_skill=HEATER, crew_size=2),
            Visit("r1", P(-4_000, 0), 8 * HOUR, 18 * HOUR, 1800),
            Visit("r2", P(0, 6_000), 8 * HOUR, 18 * HOUR, 1800),
        ],
    )
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    crew = crew_of(result, "install")
    assert len(crew) == 2 and crew[0][:2] == ("ann", False) and crew[1][1] is True  # bob or cy helps
    assert crew[0][2] == crew[1][2]
    assert result.served_count == 3 and result.stats["crews"] == {"formed": 1, "dropped": 0}


def test_the_skill_counts_for_the_crew_but_one_technician_alone_is_no_crew() -> None:
    visits = [Visit("install", P(5_000, 0), 9 * HOUR, 12 * HOUR, HOUR, required_skill=HEATER, crew_size=2)]
    alone = build([tech("ann", (HEATER,))], visits)
    result = solve(alone, LIMIT_S)
    assert violations(alone, result) == []
    assert [(item.visit_id, item.reason) for item in result.unassigned] == [("install", UnassignedReason.NO_CREW)]
    nobody_skilled = build([tech("bob"), tech("cy")], visits)
    result = solve(nobody_skilled, LIMIT_S)
    assert violations(nobody_skilled, result) == [] and result.unassigned[0].reason is UnassignedReason.NO_CREW


def test_a_crew_waits_for_its_helper_when_the_others_are_booked_by_a_locked_visit() -> None:
    problem = build(
        [tech("ann", (HEATER,)), tech("bob")],
        [
            Visit("locked", P(-2_000, 0), 9 * HOUR, 9 * HOUR, 2 * HOUR, pin=Pin("bob")),
            Visit("install", P(2_000, 0), 9 * HOUR, 16 * HOUR, 2 * HOUR, required_skill=HEATER, crew_size=2),
        ],
    )
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    crew = crew_of(result, "install")
    assert [member[:2] for member in crew] == [("ann", False), ("bob", True)]
    assert crew[0][2] >= 11 * HOUR + 8 * 60  # bob's locked visit ends at 11:00, then 8 min to drive


def test_two_crews_and_breaks_in_one_day_stay_feasible() -> None:
    lunch = Break(11 * HOUR, 13 * HOUR + 1800, 1800)
    problem = build(
        [tech("ann", (HEATER,), break_=lunch), tech("bob", (HEATER,), break_=lunch), tech("cy", break_=lunch),
         tech("di", break_=lunch)],
        [Visit(f"install{i}", P(3_000 * i, 1_000), 8 * HOUR, 17 * HOUR, 2 * HOUR, required_skill=HEATER,
               crew_size=2, priority=4) for i in range(4)]
        + [Visit(f"v{i}", P(-1_500 * i, 2_000 * (i % 3)), 8 * HOUR, 18 * HOUR, 2700) for i in range(10)],
    )
    result = solve(problem, 2.0)
    assert violations(problem, result) == []
    assert result.stats["crews"]["formed"] == 4


def wait_day(goals: DayGoals) -> RoutingProblem:
    """Two technicians at the depot; an early and a late visit next to each other, 15 km out."""
    return build(
        [tech("ann"), tech("bob")],
        [
            Visit("early", P(15_000, 0), 8 * HOUR, 9 * HOUR, 1800),
            Visit("late", P(15_200, 0), 15 * HOUR, 16 * HOUR, 1800),
        ],
        goals,
    )


def idle_s(result) -> int:
    return max((route.end_s - route.start_s - route.travel_s - sum(s.finish_s - s.start_s for s in route.stops))
               for route in result.routes if route.stops)


def test_without_a_waiting_cost_one_technician_waits_hours_between_the_two() -> None:
    problem = wait_day(DayGoals())
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and len(result.used_routes) == 1
    assert idle_s(result) > 4 * HOUR


def test_a_waiting_cost_sends_two_technicians_rather_than_one_who_waits() -> None:
    problem = wait_day(DayGoals(wait_cost=1.0))
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and len(result.used_routes) == 2
    assert idle_s(result) < HOUR


def balance_day(goals: DayGoals) -> RoutingProblem:
    return build([tech("ann"), tech("bob")],
                 [Visit(f"v{i}", P(2_000 + 300 * i, 0), 8 * HOUR, 18 * HOUR, 3600) for i in range(6)], goals)


def test_without_balance_one_technician_takes_the_whole_cluster() -> None:
    problem = balance_day(DayGoals())
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and max(len(r.stops) for r in result.routes) == 6


def test_a_balance_weight_shares_the_work() -> None:
    problem = balance_day(DayGoals(balance_weight=1.0))
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == [] and sorted(len(r.stops) for r in result.routes) == [3, 3]


def test_a_first_visit_after_the_break_does_not_leave_the_technician_waiting_on_site() -> None:
    lunch = Break(11 * HOUR, 13 * HOUR, 1800)
    problem = build([tech("ann", break_=lunch)], [Visit("pm", P(10_000, 0), 14 * HOUR, 15 * HOUR, 1800)])
    result = solve(problem, LIMIT_S)
    assert violations(problem, result) == []
    route = result.routes[0]
    assert route.stops[0].wait_s == 0 and route.start_s == 14 * HOUR - 20 * 60  # 10 km at 30 km/h
    assert 11 * HOUR <= route.break_start_s <= 13 * HOUR
