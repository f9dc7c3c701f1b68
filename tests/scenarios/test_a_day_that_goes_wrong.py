"""Days that go wrong, role by role through HTTP: a reading that blocks the checklist, an
out-of-warranty bill the manager discounts, an unhappy customer who complains and is called
back; a job taken from a technician whose phone is still working on it; an urgent call no
technician can reach in time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    Phone,
    apply_plan,
    at,
    bill,
    book,
    caller_unit,
    checklist,
    fill_repair_checklist,
    free_hour,
    insert_urgent,
    job,
    kpis,
    list_prices,
    next_working_day,
    ok,
    parts_of,
    point_id,
    put_step,
    rating_link,
    record_fault_cause,
    repair_call,
    request_plan,
    statuses,
    step,
    stock_level,
    stock_take,
    take_in,
    team,
    token_of,
    transition,
    worklist,
)

MANAGER, OTHER_MANAGER = "manager.hz01", "manager.hz02"
UF, PP = "FLT-UF-S2", "FLT-PP-S1"  # the UF-300's membrane and a PP filter: both fit it


def test_a_blocked_checklist_a_discounted_bill_and_an_unhappy_customer_called_back(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))

    # --- call centre: a customer whose purifier is out of warranty ---------------------------
    unit = caller_unit(session, "HZ01", covered=False, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "water tastes of plastic")).json
    assert (taken["warranty_decision"], taken["labour_covered"], taken["parts_covered"]) == (
        "chargeable", False, False)

    # --- manager: books a technician by hand for a free hour ----------------------------------
    worker = team(api, MANAGER)[0]
    tech = worker["username"]
    start = free_hour(api, MANAGER, worker["id"], day)
    booked = book(api, MANAGER, taken["id"], worker["id"], start)
    assert (booked["status"], at(booked["scheduled_start"])) == ("scheduled", start)

    # --- technician, online all day: on the way, on site --------------------------------------
    walk.to(start - timedelta(minutes=15))
    transition(api, taken["id"], "en_route", tech, walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
    walk.to(start + timedelta(minutes=58))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"], pressure=(0.45,))  # too high

    # --- technician: the checklist will not let the job close with a reading out of range -----
    sheet = checklist(api, taken["id"], tech)
    pressure = step(sheet, "inlet_pressure")
    assert pressure["status"] == "failed" and pressure["reasons"][0]["code"] == "above-max"
    assert sheet["failed_steps"] == ["inlet_pressure"] and sheet["complete"] is False
    refused = assert_problem(api.post(f"{API}/jobs/{taken['id']}/transitions", as_=tech,
                                      json={"to": "completed"}), 409, code="checklist-incomplete")
    assert "inlet_pressure" in str(refused)
    assert job(api, taken["id"], MANAGER)["status"] == "on_site"  # the manager sees it still open

    # --- technician: fits a pressure-reducing valve, reads again, and fits the parts ------------
    walk.by(minutes=20)
    fixed = ok(put_step(api, taken["id"], "inlet_pressure", 0.3, tech, recorded_at=walk.now))
    assert (fixed["status"], fixed["current"]["revision"]) == ("passed", 2)
    van = f"VAN-{tech}"
    stock_take(api, van, UF, 1, as_=MANAGER)
    stock_take(api, van, PP, 2, as_=MANAGER)
    prices = list_prices(api, [UF, PP], as_=tech)
    line_id = str(uuid.uuid4())
    fitted = ok(api.post(f"{API}/jobs/{taken['id']}/parts", as_=tech, json={"lines": [
        {"id": line_id, "part_sku": UF, "quantity": 1}, {"part_sku": PP, "quantity": 2}]}), 201)
    assert fitted["claims"] == []  # out of warranty: nothing to claim from HQ
    again = ok(api.post(f"{API}/jobs/{taken['id']}/parts", as_=tech, json={"lines": [
        {"id": line_id, "part_sku": UF, "quantity": 1}]}), 201)  # the app retried the first line
    assert [u["part"]["sku"] for u in again["usages"]].count(UF) == 1
    assert (stock_level(api, van, UF)["on_hand"], stock_level(api, van, PP)["on_hand"]) == (0, 0)
    record_fault_cause(api, taken["id"], "WP-MEM-SCALE", tech, note="hard feed water, no softener")
    done = transition(api, taken["id"], "completed", tech, walk.now)
    assert done["status"] == "completed"

    # --- technician and manager: the bill is labour and parts at list price -------------------
    invoice = bill(api, taken["id"], tech)
    lines = {(line["kind"], line["sku"]): line for line in invoice["lines"]}
    labour = lines[("labour", None)]
    assert lines[("part", UF)]["amount"] == prices[UF] and not lines[("part", UF)]["covered"]
    assert Decimal(lines[("part", PP)]["amount"]) == 2 * Decimal(prices[PP])
    assert Decimal(invoice["total"]) == Decimal(labour["amount"]) + Decimal(prices[UF]) + 2 * Decimal(prices[PP])
    assert all(Decimal(line["unit_price"]) <= Decimal(line["list_unit_price"]) for line in invoice["lines"])

    # --- manager: the customer complains about the price; a discount, never a surcharge ------
    overrides = f"{API}/jobs/{taken['id']}/bill/overrides"
    above = str(Decimal(prices[UF]) + Decimal("0.01"))
    assert_problem(api.put(overrides, as_=MANAGER, json={"overrides": [
        {"part_sku": UF, "unit_price": above, "reason": "rush"}]}), 422, field="overrides.0.unit_price")
    assert_problem(api.put(overrides, as_=tech, json={"overrides": []}), 403)
    assert_problem(api.put(overrides, as_=OTHER_MANAGER, json={"overrides": []}), 404)
    discounted = ok(api.put(overrides, as_=MANAGER, json={"overrides": [
        {"part_sku": UF, "unit_price": "99.00", "reason": "second visit this month"}]}))
    assert Decimal(discounted["total"]) == Decimal(invoice["total"]) - Decimal(prices[UF]) + Decimal("99.00")
    assert bill(api, taken["id"], tech)["total"] == discounted["total"]  # what the customer is shown

    # --- the customer, that evening: two stars and a comment -------------------------------------
    rated_at = walk.to(local(day, 19))
    link = rating_link(api, taken["id"], MANAGER)
    ok(api.post(f"{API}/feedback/{token_of(link)}", json={"score": 2, "comment": "still tastes odd"}), 201)
    assert_problem(api.post(f"{API}/feedback/{token_of(link)}", json={"score": 5}), 409)  # rated once

    # --- call centre: the customer also calls to complain; the complaint goes to the point -----
    complaint = ok(api.post(f"{API}/complaints/", as_=ADMIN, json={
        "category": "after_sales", "customer_id": taken["customer"]["id"], "job_id": taken["id"],
        "summary": "water still tastes of plastic after the repair"}), 201)
    assert complaint["service_point_id"] == taken["service_point_id"]
    assert complaint["id"] in {c["id"] for c in ok(api.get(f"{API}/complaints/?page_size=100", as_=MANAGER))}
    assert_problem(api.get(f"{API}/complaints/{complaint['id']}", as_=OTHER_MANAGER), 404)

    # --- manager: a callback (回访) item on the point's worklist, due in 24 h --------------------
    [item] = [i for i in worklist(api, MANAGER, status="open") if i["job_id"] == taken["id"]]
    assert (item["reason"], item["score"], item["comment"], item["attempts"]) == (
        "low_rating", 2, "still tastes odd", 0)
    assert at(item["due_at"]) == rated_at + timedelta(hours=24)
    assert taken["id"] not in {i["job_id"] for i in worklist(api, OTHER_MANAGER)}
    assert_problem(api.get(f"{API}/callbacks", as_=tech), 403)
    assert taken["id"] in {i["job_id"] for i in worklist(api, ADMIN, status="open")}  # HQ's call centre too

    # --- manager, next morning: the customer does not answer -----------------------------------
    walk.to(local(day + timedelta(days=1), 9))
    calls = f"{API}/jobs/{taken['id']}/callbacks"
    ok(api.post(calls, as_=MANAGER, json={"outcome": "no_answer"}), 201)
    [item] = [i for i in worklist(api, MANAGER, status="open") if i["job_id"] == taken["id"]]
    assert item["attempts"] == 1 and taken["id"] not in {i["job_id"] for i in worklist(api, MANAGER, overdue="true")}

    # --- manager, after the due time: the item is overdue; then the customer is reached -------
    walk.to(rated_at + timedelta(hours=25))
    assert taken["id"] in {i["job_id"] for i in worklist(api, MANAGER, overdue="true")}
    reached = ok(api.post(calls, as_=MANAGER, json={"outcome": "reached", "satisfied": True,
                                                    "comment": "flushed the new membrane again; fine now"}), 201)
    assert taken["id"] not in {i["job_id"] for i in worklist(api, MANAGER, status="open")}
    [closed] = [i for i in worklist(api, MANAGER, status="done") if i["job_id"] == taken["id"]]
    assert (closed["callback_id"], closed["attempts"]) == (reached["id"], 2) and closed["closed_at"]
    assert [c["outcome"] for c in ok(api.get(calls, as_=MANAGER))] == ["no_answer", "reached"]

    # --- manager: the rating counts in the technician's KPIs for the day ----------------------
    mine = kpis(api, MANAGER, day, day, technician=tech)["kpis"]
    assert (mine["jobs_done"], mine["rating_count"], mine["rating_average"], mine["complaints"]) == (1, 1, 2.0, 1)


def test_a_job_taken_from_a_technician_whose_phone_works_on_loses_nothing(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))
    first, second = team(api, MANAGER)[:2]

    # --- call centre and manager: a job booked for the first technician -----------------------
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "booster pump noisy")).json
    start = free_hour(api, MANAGER, first["id"], day, earliest=10)
    book(api, MANAGER, taken["id"], first["id"], start)

    # --- the first technician's phone: pulls the job the evening before -----------------------
    phone = Phone(api, first["username"])
    phone.pull()
    assert taken["id"] in phone.jobs

    # --- manager, the morning of the day: the first technician is delayed; the job moves ------
    walk.to(local(day, 8))
    moved_to = free_hour(api, MANAGER, second["id"], day, earliest=10)
    response = api.post(f"{API}/jobs/{taken['id']}/assignment", as_=MANAGER, json={
        "technician_id": second["id"], "scheduled_start": moved_to.isoformat(), "reason": "van broke down"})
    assert ok(response)["technician_id"] == second["id"]

    # --- the first phone, offline, had already started; it pushes when it has a signal --------
    walk.to(local(day, 9, 30))
    queued = [phone.record("note", {"job_id": taken["id"], "text": "customer asked to call first"},
                           local(day, 8, 20)),
              phone.record("job_transition", {"job_id": taken["id"], "to": "en_route"}, local(day, 8, 25))]
    pushed = ok(phone.push(queued))
    assert all(r["status"] == "rejected" and r["quarantined"] and r["reason"] == "job_reassigned"
               for r in pushed["results"])
    assert pushed["last_mutation_id"] == 2  # the phone is not blocked: its next mutation is 3

    # --- manager: what the first phone sent is kept for them, not applied ---------------------
    kept = ok(api.get(f"{API}/jobs/{taken['id']}/quarantine", as_=MANAGER))
    assert [(q["kind"], q["reason"]) for q in kept] == [("note", "job_reassigned"), ("job_transition", "job_reassigned")]
    assert kept[0]["payload"]["text"] == "customer asked to call first"
    assert_problem(api.get(f"{API}/jobs/{taken['id']}/quarantine", as_=OTHER_MANAGER), 404)
    seen = job(api, taken["id"], MANAGER)
    assert (seen["status"], seen["technician_id"]) == ("scheduled", second["id"])

    # --- both phones pull: the job left the first and reached the second, with its new slot ----
    phone.pull()
    assert taken["id"] in phone.removed and taken["id"] not in phone.jobs
    other = Phone(api, second["username"])
    other.pull()
    assert at(other.jobs[taken["id"]]["scheduled_start"]) == moved_to

    # --- the second phone: works it; a part the catalogue says does not fit is refused alone ---
    walk.to(moved_to + timedelta(minutes=70))
    stock_take(api, f"VAN-{second['username']}", "ANO-MG-EH", 1, as_=MANAGER)  # a water heater's anode
    work = [other.record("job_transition", {"job_id": taken["id"], "to": "en_route"}, moved_to - timedelta(minutes=10)),
            other.record("job_transition", {"job_id": taken["id"], "to": "on_site"}, moved_to),
            other.record("parts_consumed", {"job_id": taken["id"], "lines": [{"part_sku": "ANO-MG-EH", "quantity": 1}]},
                         moved_to + timedelta(minutes=30)),
            other.record("note", {"job_id": taken["id"], "text": "pump mount tightened"},
                         moved_to + timedelta(minutes=40))]
    body = ok(other.push(work))
    assert statuses(body) == [(1, "applied"), (2, "applied"), (3, "rejected"), (4, "applied")]
    assert body["results"][2]["reason"] == "part-does-not-fit"
    assert "payload.lines.0.part_sku" in body["results"][2]["problem"]["errors"]
    assert parts_of(api, taken["id"], MANAGER)["usages"] == []
    assert stock_level(api, f"VAN-{second['username']}", "ANO-MG-EH")["on_hand"] == 1
    seen = job(api, taken["id"], MANAGER)
    assert seen["status"] == "on_site" and at(seen["arrived_at"]) == moved_to
    assert step(checklist(api, taken["id"], MANAGER), "fault_description")["status"] == "pending"


def test_an_urgent_call_no_one_can_reach_in_time_is_placed_with_its_projected_breach(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))

    # --- manager: the day is planned and applied the evening before ---------------------------
    plan = request_plan(api, MANAGER, hz01, day)
    apply_plan(api, MANAGER, plan)

    # --- call centre, 07:30: a VIP's urgent repair (4 h to be on site), home only from 13:00 --
    walk.to(local(day, 7, 30))
    unit = caller_unit(session, "HZ01", covered=True, on=day, grade="vip")
    urgent = take_in(api, repair_call(unit, day, (13, 17), "water everywhere", priority="urgent")).json
    due = at(urgent["sla_due_at"])
    assert due == local(day, 11, 30) and urgent["sla_status"] == "ok"

    # --- manager: inserts it; the answer says it will be late, and by how much ----------------
    insertion = insert_urgent(api, MANAGER, plan, urgent["id"])
    start = at(insertion["start_at"])
    assert start >= local(day, 13)  # not before the customer is home
    sla = insertion["sla"]
    assert (sla["met"], at(sla["due_at"])) == (False, due)
    assert sla["breach_minutes"] == int((start - due).total_seconds() // 60) and sla["breach_minutes"] >= 90
    assert sla["status"] == "at_risk"

    # --- manager: the job list shows it at risk now, breached once the due time has passed ----
    seen = job(api, urgent["id"], MANAGER)
    assert (seen["status"], seen["sla_status"]) == ("scheduled", "at_risk")
    assert urgent["id"] in {j["id"] for j in ok(api.get(f"{API}/jobs/?sla=at_risk&page_size=100", as_=MANAGER))}
    walk.to(due + timedelta(minutes=1))
    assert job(api, urgent["id"], MANAGER)["sla_status"] == "breached"
    assert urgent["id"] in {j["id"] for j in ok(api.get(f"{API}/jobs/?sla=breached&page_size=100", as_=MANAGER))}
