"""The independent routing checker (tests/unit/routing/checker.py) applied to a plan read through HTTP.

The plan's answer is turned back into the solver's terms (seconds since local midnight, one route per
technician, crew helpers' stops) and checked against the day read again from the database with the
same inputs: windows, shifts, floating breaks, skills, crews, no double booking, every job once.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dispatch.clock import utcnow
from dispatch.routing import Route, RoutingResult, Stop, Unassigned, UnassignedReason
from dispatch.routing.day import PlanningInput, read_day
from dispatch.routing.problem import DayGoals
from tests.plan_builders import local, point
from tests.unit.routing.checker import violations

TZ = ZoneInfo("Asia/Shanghai")


def planning_of(session, code: str, day: date, plan: dict, now: datetime | None = None) -> PlanningInput:
    session.expire_all()  # the API wrote in sessions of its own
    return read_day(session, point(session, code), day, TZ, now=now or utcnow(), time_limit_s=plan["time_limit_s"],
                    seed=plan["seed"], goals=DayGoals(wait_cost=plan["wait_cost"],
                                                      balance_weight=plan["balance_weight"]))


def result_of(plan: dict, day: date, planning: PlanningInput) -> RoutingResult:
    midnight = local(day, 0)

    def s(moment: str | None) -> int | None:
        return None if moment is None else int((datetime.fromisoformat(moment) - midnight).total_seconds())

    routes = tuple(
        Route(
            technician_id=route["technician_id"],
            stops=tuple(Stop(stop["job_id"], s(stop["arrival_at"]), s(stop["start_at"]), s(stop["finish_at"]),
                             stop["travel_s"], stop["distance_m"], helper=stop["helper"])
                        for stop in route["stops"]),
            start_s=s(route["leave_at"]), end_s=s(route["return_at"]), distance_m=route["distance_m"],
            travel_s=route["travel_s"], break_start_s=s(route["break_start_at"]),
        )
        for route in plan["routes"]
    )
    visits = {visit.id for visit in planning.problem.visits}
    unassigned = tuple(Unassigned(item["job_id"], UnassignedReason(item["reason"]), item["detail"])
                       for item in plan["unassigned"] if item["job_id"] in visits)
    return RoutingResult(routes=routes, unassigned=unassigned, objective=0)


def plan_violations(session, code: str, day: date, plan: dict, now: datetime | None = None) -> list[str]:
    """Every rule the plan breaks (empty: feasible), by the independent checker."""
    planning = planning_of(session, code, day, plan, now)
    assert planning.input_hash == plan["input_hash"], "the day changed since it was planned"
    return violations(planning.problem, result_of(plan, day, planning))
