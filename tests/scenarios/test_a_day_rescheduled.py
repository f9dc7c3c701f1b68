"""A day booked by the customers and re-planned as it goes wrong (issue 19), through HTTP: the call
centre offers windows and books them; a technician reads their own day; then one technician falls
ill, a visit overruns and a customer is not at home, and each time the manager confirms a re-plan
of the rest of the day; the manager looks at the day as a map and a Gantt picture. After every
confirmed change the independent checker finds the day feasible."""

from __future__ import annotations

from datetime import timedelta

from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import (
    ADMIN,
    API,
    at,
    book_slot,
    caller_unit,
    confirm_replan,
    job,
    move,
    my_route,
    next_working_day,
    offered_slots,
    ok,
    point_id,
    repair_call,
    replan,
    request_plan,
    take_in,
    username_of,
    worklist,
)
from tests.schedule_check import calendar_violations

MANAGER = "manager.hz01"


def test_customers_book_windows_and_a_day_that_goes_wrong_is_replanned(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY + timedelta(days=14))  # no demo visits booked yet
    hz01 = point_id(api, "HZ01")
    walk.to(local(day - timedelta(days=1), 15))

    # --- call centre: six customers are offered windows and each takes the best one --------------
    booked, seen = [], []
    for n in range(6):
        unit = caller_unit(session, "HZ01", covered=True, on=day, skip=tuple(seen))
        seen.append(unit.serial)
        taken = take_in(api, repair_call(unit, day, (9, 17), f"no water pressure ({n})")).json
        slots = offered_slots(api, taken["id"], day)
        assert slots and [s["added_travel_s"] for s in slots] == sorted(s["added_travel_s"] for s in slots)
        answer = book_slot(api, taken["id"], slots[0])
        assert at(answer["window_end"]) - at(answer["window_start"]) == timedelta(hours=2)
        booked.append(answer)
    assert calendar_violations(session, "HZ01", day) == []

    # --- a technician reads their own day, and only theirs -----------------------------------
    busiest = max({b["technician_id"] for b in booked}, key=lambda t: sum(b["technician_id"] == t for b in booked))
    tech = username_of(api, busiest, MANAGER)
    route = my_route(api, tech, day)
    assert {s["job_id"] for s in route["stops"]} == {b["job_id"] for b in booked if b["technician_id"] == busiest}
    others = [b for b in booked if b["technician_id"] != busiest]
    if others:
        assert api.get(f"{API}/technicians/{others[0]['technician_id']}/route?date={day}", as_=tech).status_code == 404

    # --- the morning: the busiest technician falls ill before leaving -------------------------
    walk.to(local(day, 8, 40))
    ill = replan(api, MANAGER, hz01, kind="technician_unavailable", technician_id=busiest)
    theirs = {b["job_id"] for b in booked if b["technician_id"] == busiest}
    assert theirs <= {m["job_id"] for m in ill["moves"]} | {f["job_id"] for f in ill["flagged"]}
    assert job(api, next(iter(theirs)), ADMIN)["technician_id"] == busiest  # nothing moved yet
    confirm_replan(api, MANAGER, ill)
    assert all(job(api, j, ADMIN)["technician_id"] != busiest for j in theirs)
    assert calendar_violations(session, "HZ01", day) == []

    # --- late morning: the first visit of the day overruns by an hour ------------------------
    live = sorted((job(api, b["job_id"], ADMIN) for b in booked), key=lambda j: j["scheduled_start"] or "~")
    live = [j for j in live if j["status"] == "scheduled"]
    first = live[0]
    worker = username_of(api, first["technician_id"], MANAGER)
    walk.to(max(walk.now, at(first["scheduled_start"]) - timedelta(minutes=20)))
    ok(move(api, first["id"], "en_route", worker))
    walk.to(at(first["scheduled_start"]))
    ok(move(api, first["id"], "on_site", worker))
    walk.by(minutes=30)
    overrun = replan(api, MANAGER, hz01, kind="overrun", job_id=first["id"], extra_minutes=60)
    confirm_replan(api, MANAGER, overrun)
    assert job(api, first["id"], ADMIN)["duration_minutes"] == first["duration_minutes"] + 60
    assert calendar_violations(session, "HZ01", day) == []

    # --- a customer is not at home ------------------------------------------------------------
    waiting = [job(api, j["id"], ADMIN) for j in live[1:]]
    waiting = [j for j in waiting if j["status"] == "scheduled" and at(j["scheduled_start"]) > walk.now]
    if waiting:
        absent = waiting[0]
        driver = username_of(api, absent["technician_id"], MANAGER)
        ok(move(api, absent["id"], "en_route", driver))
        walk.to(max(walk.now, at(absent["scheduled_start"])) + timedelta(minutes=5))
        no_show = replan(api, MANAGER, hz01, kind="no_show", job_id=absent["id"])
        confirm_replan(api, MANAGER, no_show)
        assert job(api, absent["id"], ADMIN)["status"] == "cancelled"
        assert absent["id"] in {item["job_id"] for item in worklist(api, MANAGER)}
        assert calendar_violations(session, "HZ01", day) == []

    # --- the manager looks at the rest of the day as pictures --------------------------------
    plan = request_plan(api, MANAGER, hz01, day)
    for picture in ("map.svg", "gantt.svg"):
        answer = api.get(f"{API}/plans/{plan['id']}/{picture}", as_=MANAGER)
        assert answer.status_code == 200 and answer.mimetype == "image/svg+xml" and b"<svg" in answer.data
