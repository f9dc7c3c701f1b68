"""A crew install booked through the offered slots, and a week planned in one request, at HZ01 through
HTTP (issue 19). The call centre offers a heater install that needs two technicians the windows in
which a skilled lead and a helper are free together, and books one: both are booked, both see it
in their own day. Then customers who can be served any of three days call in, and the manager plans
the three days in one request: each job goes on one day inside its window, the plan is applied
like a one-day plan, and after every booking the independent checker finds each day feasible.
Before it is applied a technician takes one of its days off: the plan is checked day by day and
refused whole until the leave is withdrawn. Then an urgent repair due on the second day goes into
that day of the week plan; the crew's helper reads the install on their phone with their own
day's leg; on the day the helper falls ill, the re-plan finds the crew a new helper, applied only
once the manager confirms, and the phones follow."""

from __future__ import annotations

from datetime import timedelta

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    Phone,
    apply_plan,
    at,
    book_slot,
    caller_unit,
    confirm_replan,
    insert_urgent,
    job,
    my_route,
    next_working_day,
    offered_slots,
    ok,
    point_id,
    repair_call,
    replan,
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

    # --- before it is applied, a technician takes a day off: the plan is checked day by day -----
    busy_day, absent = next((route["date"], route["technician_id"]) for route in plan["routes"] if route["stops"])
    leave = ok(api.post(f"{API}/technicians/{absent}/shift-exceptions", as_=MANAGER,
                        json={"on": busy_day, "kind": "leave", "reason": "a family matter"}), 201)
    refused = assert_problem(api.post(f"{API}/plans/{plan['id']}/apply", as_=MANAGER), 409)
    assert {(p["date"], p["technician_id"]) for p in refused["problems"]} == {(busy_day, absent)}
    assert all(job(api, job_id, MANAGER)["status"] == "dispatched" for job_id in flexible)  # nothing written
    assert api.delete(f"{API}/technicians/{absent}/shift-exceptions/{leave['id']}", as_=MANAGER).status_code == 204

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

    # --- call centre: an urgent repair that must be done on the second day goes into the week plan --
    second = day + timedelta(days=1)
    unit = caller_unit(session, "HZ01", covered=True, on=day, skip=seen)
    urgent = take_in(api, repair_call(unit, second, (9, 17), "leaking inlet", priority="urgent")).json
    inserted = insert_urgent(api, MANAGER, plan, urgent["id"])
    assert inserted["date"] == second.isoformat() and at(inserted["start_at"]).date() == second
    assert job(api, urgent["id"], MANAGER)["status"] == "scheduled"
    assert all(calendar_violations(session, "HZ01", day + timedelta(days=k)) == [] for k in range(3))

    # --- the crew's helper reads the install on their phone, with their own day's leg and times --
    lead, helper = crew["technician_id"], crew["helper_ids"][0]
    helper_user = username_of(api, helper, MANAGER)
    phone = Phone(api, helper_user)
    phone.pull()
    facts = phone.jobs[install["id"]]["route"]
    own = next(s for s in my_route(api, helper_user, day)["stops"] if s["job_id"] == install["id"])
    assert facts["helper"] is True and own["helper"] is True
    assert (facts["eta"], facts["travel_from_prev_s"]) == (own["start_at"], own["travel_from_prev_s"])

    # --- the day: the helper falls ill before the install; the crew gets a new helper -----------
    walk.to(max(walk.now, at(crew["scheduled_start"]) - timedelta(hours=1)))
    proposal = replan(api, MANAGER, hz01, kind="technician_unavailable", technician_id=helper)
    move = next(m for m in proposal["moves"] if m["job_id"] == install["id"])
    assert helper not in move["to_helper_ids"] and len(move["to_helper_ids"]) == 1
    assert job(api, install["id"], MANAGER)["helper_ids"] == [helper]  # nothing applied before the confirm
    confirm_replan(api, MANAGER, proposal)
    now_crew = job(api, install["id"], MANAGER)
    assert (now_crew["technician_id"], now_crew["helper_ids"]) == (move["to_technician_id"], move["to_helper_ids"])
    assert at(now_crew["scheduled_start"]) == at(move["to_start"])
    assert calendar_violations(session, "HZ01", day) == []
    phone.pull()
    assert install["id"] in phone.removed  # the ill helper's phone drops it
    newcomer = Phone(api, username_of(api, move["to_helper_ids"][0], MANAGER))
    newcomer.pull()
    assert newcomer.jobs[install["id"]]["route"]["helper"] is True
