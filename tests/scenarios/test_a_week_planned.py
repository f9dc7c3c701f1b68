"""A crew install booked through the offered slots, and a week planned in one request, at HZ01 through
HTTP (issue 19). The call centre offers a heater install that needs two technicians the windows in
which a skilled lead and a helper are free together, and books one: both are booked, both see it
in their own day. Then customers who can be served any of three days call in, and the manager plans
the three days in one request: each job goes on one day inside its window, the plan is applied
like a one-day plan, and after every booking the independent checker finds each day feasible."""

from __future__ import annotations

from datetime import timedelta

from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import (
    ADMIN,
    API,
    apply_plan,
    at,
    book_slot,
    caller_unit,
    job,
    my_route,
    next_working_day,
    offered_slots,
    ok,
    point_id,
    repair_call,
    take_in,
    username_of,
)
from tests.schedule_check import calendar_violations

MANAGER = "manager.hz01"


def test_a_crew_install_is_booked_through_slots_and_a_week_is_planned_in_one_request(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY + timedelta(days=21))  # nothing of the demo's booked
    walk.to(local(day - timedelta(days=2), 10))

    # --- call centre: a heater install for two; the customer takes the best window offered -------
    heater = caller_unit(session, "HZ01", covered=True, on=day)
    install = take_in(api, {"type": "install", "product_sku": "WH-EH60", "customer_id": str(heater.customer_id),
                            "crew_size": 2, "description": "60 L heater on the bathroom wall"}).json
    slots = offered_slots(api, install["id"], day)
    assert slots and all(len(s["helper_ids"]) == 1 and s["helper_ids"][0] != s["technician_id"] for s in slots)
    booked = book_slot(api, install["id"], slots[0])
    lead, helper = booked["technician_id"], booked["helper_ids"][0]
    stored = job(api, install["id"], ADMIN)
    assert (stored["status"], stored["technician_id"], stored["helper_ids"]) == ("scheduled", lead, [helper])
    assert calendar_violations(session, "HZ01", day) == []
    for member in (lead, helper):  # both see the crew visit in their own day
        route = my_route(api, username_of(api, member, MANAGER), day)
        assert install["id"] in {s["job_id"] for s in route["stops"]}

    # --- call centre: customers who can be served on any of three days ------------------------
    last = day + timedelta(days=2)
    flexible, seen = [], (heater.serial,)
    for n in range(5):
        unit = caller_unit(session, "HZ01", covered=True, on=day, skip=seen)
        seen += (unit.serial,)
        body = repair_call(unit, day, (9, 17), f"slow filter ({n})")
        body["window_end"] = local(last, 17).isoformat()
        flexible.append(take_in(api, body).json["id"])

    # --- manager: one request plans the three days; each job goes on one day in its window -----
    response = api.post(f"{API}/service-points/{hz01}/plans", as_=MANAGER,
                        json={"date": day.isoformat(), "date_to": last.isoformat(), "time_limit_s": 3})
    plan = ok(api.get(ok(response, 202) and response.headers["Location"], as_=MANAGER))
    assert plan["status"] == "done" and (plan["days"], plan["date_to"]) == (3, last.isoformat())
    placed = {}
    for route in plan["routes"]:
        for stop in route["stops"]:
            if not stop["helper"]:
                assert stop["job_id"] not in placed  # never on two days
                placed[stop["job_id"]] = (route["date"], stop)
    assert set(flexible) <= set(placed), plan["unassigned"]
    assert placed[install["id"]][0] == day.isoformat()  # the booked crew keeps its day
    for job_id in flexible:
        assert local(day, 9) <= at(placed[job_id][1]["start_at"]) <= local(last, 17)
    ok(api.get(f"{API}/plans/{plan['id']}/gantt.svg", as_=MANAGER))

    apply_plan(api, MANAGER, plan)
    for job_id in flexible:
        now_booked = job(api, job_id, MANAGER)
        assert now_booked["status"] == "scheduled"
        assert at(now_booked["scheduled_start"]) == at(placed[job_id][1]["start_at"])
    crew = job(api, install["id"], MANAGER)  # a tentative booking: the plan may re-crew it, on its day
    assert len(crew["helper_ids"]) == 1 and crew["technician_id"] not in crew["helper_ids"]
    assert at(crew["scheduled_start"]).date() == day
    for k in range(3):
        assert calendar_violations(session, "HZ01", day + timedelta(days=k)) == []
