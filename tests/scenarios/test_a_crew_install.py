"""A crew install at HZ01 through HTTP: the call centre takes in a water-heater install that needs two
technicians, the manager gives one technician a later lunch window, plans the day with a workload
balance weight (the plan books the skilled lead and a helper on site together, and every break
floats in its window; the independent checker agrees), applies it, both technicians see the job,
and on the day only the lead moves it through the visit."""

from __future__ import annotations

from datetime import timedelta

from dispatch.network.models import CustomerGrade
from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.plan_checks import plan_violations
from tests.scenarios.steps import (
    API,
    apply_plan,
    at,
    caller_unit,
    job,
    job_list,
    move,
    next_working_day,
    ok,
    point_id,
    take_in,
    team,
    username_of,
)

MANAGER = "manager.hz01"


def test_a_heater_install_needs_two_technicians_and_gets_them_together(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 15), walk.now))

    # --- call centre: a customer orders a 60 L heater installed; it takes two to carry and hang it
    unit = caller_unit(session, "HZ01", covered=True, on=day, grade=CustomerGrade.STANDARD)
    install = take_in(api, {
        "type": "install", "product_sku": "WH-EH60", "customer_id": str(unit.customer_id), "crew_size": 2,
        "description": "60 L heater on the bathroom wall", "window_start": local(day, 9).isoformat(),
        "window_end": local(day, 15).isoformat()}).json
    assert (install["status"], install["crew_size"], install["dispatch"]["service_point_code"]) == (
        "dispatched", 2, "HZ01")

    # --- manager: one technician lunches later that day (the break floats in 12:30-13:30) -----
    technicians = team(api, MANAGER)
    late = technicians[-1]
    path = f"{API}/technicians/{late['id']}"
    etag = api.get(path, as_=MANAGER).headers["ETag"]
    ok(api.patch(path, as_=MANAGER, headers={"If-Match": etag},
                 json={"break_window": {"earliest": "12:30", "latest": "13:30"}}))

    # --- manager: plans the day with a balance weight, and the plan is feasible -----------------
    response = api.post(f"{API}/service-points/{hz01}/plans", as_=MANAGER,
                        json={"date": day.isoformat(), "time_limit_s": 2, "balance_weight": 1.0})
    plan = ok(api.get(ok(response, 202) and response.headers["Location"], as_=MANAGER))
    assert plan["status"] == "done" and plan["balance_weight"] == 1.0
    assert plan_violations(session, "HZ01", day, plan) == []
    crew = [(route["technician_id"], stop) for route in plan["routes"] for stop in route["stops"]
            if stop["job_id"] == install["id"]]
    assert sorted(stop["helper"] for _, stop in crew) == [False, True], plan["unassigned"]
    assert len({stop["start_at"] for _, stop in crew}) == 1  # on site together
    assert local(day, 9) <= at(crew[0][1]["start_at"]) <= local(day, 15)
    lead = next(t for t, stop in crew if not stop["helper"])
    helper = next(t for t, stop in crew if stop["helper"])
    for route in plan["routes"]:
        if route["stops"] and route["technician_id"] == late["id"]:
            assert local(day, 12, 30) <= at(route["break_start_at"]) <= local(day, 13, 30)
    lunches = {route["break_start_at"] for route in plan["routes"] if route["break_start_at"]}
    assert all(local(day, 11) <= at(b) <= local(day, 14) for b in lunches)

    # --- manager applies it: the lead holds the job, the helper is booked for the same slot ------
    apply_plan(api, MANAGER, plan)
    booked = job(api, install["id"], MANAGER)
    assert (booked["status"], booked["technician_id"], booked["helper_ids"]) == ("scheduled", lead, [helper])
    lead_user, helper_user = username_of(api, lead, MANAGER), username_of(api, helper, MANAGER)
    assert install["id"] in {j["id"] for j in job_list(api, helper_user, date=day.isoformat())}
    assert install["id"] in {j["id"] for j in job_list(api, lead_user, date=day.isoformat())}

    # --- the day: the crew meets on site; only the lead moves the job -------------------------
    walk.to(at(booked["scheduled_start"]) - timedelta(minutes=30))
    assert_problem(move(api, install["id"], "en_route", helper_user), 403)
    ok(move(api, install["id"], "en_route", lead_user))
    walk.by(minutes=30)
    ok(move(api, install["id"], "on_site", lead_user))
    assert_problem(move(api, install["id"], "completed", helper_user), 403)
    assert job(api, install["id"], helper_user)["status"] == "on_site"
