"""A normal day at HZ01, role by role through HTTP: a customer's call the evening before, the
manager's plan for the point's next working day, an urgent job inserted in the morning, the
technician's phone working offline in a basement, the SOP checklist with a bad reading put right,
parts and the bill, the warranty claim HQ decides, the customer's rating and the KPIs."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from dispatch.network.models import CustomerGrade
from tests.dates import SUITE_TODAY, TZ, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    Phone,
    apply_plan,
    at,
    bill,
    caller_unit,
    checklist,
    insert_urgent,
    job,
    job_list,
    kpis,
    kpis_csv,
    list_prices,
    move,
    next_working_day,
    ok,
    parts_of,
    photo,
    point_id,
    put_step,
    repair_offline,
    rating_link,
    repair_call,
    request_plan,
    sha256,
    signature_image,
    statuses,
    step,
    stock_level,
    stock_take,
    stops_of,
    take_in,
    token_of,
    upload,
    username_of,
)

MANAGER, OTHER_MANAGER = "manager.hz01", "manager.hz02"
VALVE, PP = "VLV-SOL-IN", "FLT-PP-S1"  # the inlet solenoid valve (covered by the warranty), a PP filter (consumable)


def test_a_repair_goes_from_the_customers_call_to_the_bill_the_claim_and_the_rating(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)  # the manager reads the team's shifts
    eve = walk.to(max(local(day - timedelta(days=1), 15), walk.now))

    # --- call centre (HQ), the afternoon before: a customer calls about a leaking purifier -------
    unit = caller_unit(session, "HZ01", covered=True, on=day, grade=CustomerGrade.STANDARD)
    call = repair_call(unit, day, (9, 12), "leaking under the sink; water on the cabinet floor")
    first = take_in(api, call, key="cc-call-0001")
    retry = take_in(api, call, key="cc-call-0001")  # the call centre's system timed out and sent it again
    taken = first.json
    assert retry.json["id"] == taken["id"] and retry.headers["Idempotent-Replayed"] == "true"
    assert (taken["status"], taken["dispatch"]["service_point_code"], taken["dispatch"]["reason"]) == (
        "dispatched", "HZ01", "polygon")
    assert (taken["warranty_decision"], taken["labour_covered"], taken["parts_covered"]) == ("covered", True, True)
    assert taken["sla_status"] == "ok" and at(taken["sla_due_at"]) == eve + timedelta(hours=48)
    assert taken["customer"]["id"] == str(unit.customer_id) and taken["unit_serial"] == unit.serial

    # --- manager of HZ01: the job is on the point's list for the day; the other point sees nothing
    waiting = job_list(api, MANAGER, status="dispatched", date=day.isoformat())
    assert taken["id"] in {j["id"] for j in waiting}
    assert_problem(api.get(f"{API}/jobs/{taken['id']}", as_=OTHER_MANAGER), 404)
    assert taken["id"] not in {j["id"] for j in job_list(api, OTHER_MANAGER, date=day.isoformat())}

    # --- manager: plans the day, reads the plan, applies it -----------------------------------
    plan = request_plan(api, MANAGER, hz01, day)
    stops = stops_of(plan)
    assert taken["id"] in stops, plan["unassigned"]
    technician_id, stop = stops[taken["id"]]
    assert local(day, 9) <= at(stop["start_at"]) <= local(day, 12)  # the visit starts in the customer's window
    assert at(stop["arrival_at"]) <= at(stop["start_at"]) < at(stop["finish_at"])
    assert plan["stats"]["jobs"] == len(stops) + len(plan["unassigned"])
    assert all(u["reason"] for u in plan["unassigned"])  # whatever is left over says why
    assert_problem(api.get(f"{API}/plans/{plan['id']}", as_=OTHER_MANAGER), 404)
    drawn = api.get(f"{API}/plans/{plan['id']}/map.svg", as_=MANAGER)  # the manager looks at the map
    assert drawn.status_code == 200 and drawn.mimetype == "image/svg+xml"
    assert {r["technician_name"] for r in plan["routes"] if r["stops"]} <= set(
        re.findall(r'data-technician="([^"]+)"', drawn.get_data(as_text=True)))
    applied = apply_plan(api, MANAGER, plan)
    assert applied["applied_at"] is not None
    scheduled = job(api, taken["id"], MANAGER)
    assert (scheduled["status"], scheduled["technician_id"]) == ("scheduled", technician_id)
    assert at(scheduled["scheduled_start"]) == at(stop["start_at"])
    tech = username_of(api, technician_id, MANAGER)
    on_the_day = {j["id"]: j for j in job_list(api, MANAGER, date=day.isoformat(), technician_id=technician_id)}
    assert {job_id for job_id, (t, s) in stops.items() if t == technician_id} <= set(on_the_day)

    # --- the technician's phone, that evening: the job arrives with its slot and its checklist ---
    phone = Phone(api, tech)
    snapshot = phone.pull()
    assert snapshot["snapshot"] is True
    doc = phone.jobs[taken["id"]]
    assert at(doc["scheduled_start"]) == at(stop["start_at"]) and doc["status"] == "scheduled"
    assert doc["customer"]["phone"] == taken["customer"]["phone"] and doc["unit"]["serial"] == unit.serial
    assert doc["unit"]["in_warranty"] is True and doc["warranty_decision"] == "covered"
    template = {s["key"]: s for s in doc["checklist"]["template"]["steps"]}
    assert template["inlet_pressure"]["params"]["min"] == 0.1 and template["inlet_pressure"]["params"]["max"] == 0.4
    colleague = next(t["username"] for t in ok(api.get(f"{API}/technicians/?page_size=100", as_=MANAGER))
                     if t["id"] != technician_id)
    elsewhere = Phone(api, colleague)
    elsewhere.pull()
    assert taken["id"] not in elsewhere.jobs

    # --- call centre, the morning of the day: an urgent call ----------------------------------
    walk.to(local(day, 7, 30))
    urgent_unit = caller_unit(session, "HZ01", covered=True, on=day, grade=CustomerGrade.STANDARD,
                              skip=(unit.serial,))
    urgent = take_in(api, repair_call(urgent_unit, day, (10, 16), "no water at all, baby at home",
                                      priority="urgent")).json
    assert urgent["sla_status"] == "ok" and at(urgent["sla_due_at"]) == local(day, 15, 30)  # 8 h for urgent repairs

    # --- manager: inserts it into the applied plan --------------------------------------------
    insertion = insert_urgent(api, MANAGER, plan, urgent["id"])
    assert insertion["sla"]["met"] is True and insertion["sla"]["breach_minutes"] == 0
    assert local(day, 10) <= at(insertion["start_at"]) <= local(day, 15, 30)
    assert insertion["plan"]["revision"] == 1
    inserted = job(api, urgent["id"], MANAGER)
    assert (inserted["status"], inserted["technician_id"]) == ("scheduled", insertion["technician_id"])
    assert at(inserted["scheduled_start"]) == at(insertion["start_at"]) and inserted["sla_status"] == "ok"
    after = stops_of(insertion["plan"])
    assert set(stops) <= set(after)  # nobody promised a slot was dropped for it
    technician_id, stop = after[taken["id"]]  # our job may have been given another slot for it
    start = at(stop["start_at"])
    assert job(api, taken["id"], MANAGER)["technician_id"] == technician_id
    assert at(job(api, taken["id"], MANAGER)["scheduled_start"]) == start

    # --- manager: the customer's outbox holds one text announcing the slot, in local time ------
    outbox = ok(api.get(f"{API}/notifications/?job_id={taken['id']}&template=job_scheduled", as_=MANAGER))
    [pending] = [m for m in outbox if m["status"] == "pending"]  # an older unsent one is superseded
    assert pending["payload"]["eta"] == start.astimezone(TZ).isoformat()  # "...T09:00:00+08:00"
    assert pending["recipient"] == taken["customer"]["phone"]

    # --- the technician's phone, 08:00: it pulls what changed overnight -----------------------
    walk.to(local(day, 8))
    phone.pull()
    if username_of(api, technician_id, MANAGER) != tech:  # the insertion gave our job to a colleague
        assert taken["id"] in phone.removed
        phone = Phone(api, username_of(api, technician_id, MANAGER))
        phone.pull()
    tech = phone.username
    assert at(phone.jobs[taken["id"]]["scheduled_start"]) == start
    assert (urgent["id"] in phone.jobs) == (insertion["technician_id"] == technician_id)
    van = f"VAN-{tech}"
    stock_take(api, van, VALVE, 2, as_=MANAGER)  # the manager counts the van before it leaves
    stock_take(api, van, PP, 4, as_=MANAGER)
    prices = list_prices(api, [VALVE, PP], as_=tech)
    before = kpis(api, MANAGER, day, day, technician=tech)["kpis"]

    # --- technician: on the way, online ---------------------------------------------------------
    walk.to(start - timedelta(minutes=10))
    place = taken["location"]
    leaving = [phone.record("job_transition", {"job_id": taken["id"], "to": "en_route"}, walk.now)]
    sent = ok(phone.push(leaving, key=f"{phone.device_id}:batch-1"))
    assert statuses(sent) == [(1, "applied")] and sent["last_mutation_id"] == 1
    lost = phone.push(leaving, key=f"{phone.device_id}:batch-1")  # the answer was lost in a tunnel: again
    assert ok(lost) == sent and lost.headers["Idempotent-Replayed"] == "true"
    assert job(api, taken["id"], MANAGER)["status"] == "en_route"

    # --- technician: in the customer's basement, offline; the phone queues the work -------------
    fault_photo = photo(taken=start + timedelta(minutes=5), place=place)
    signature = signature_image()
    queue = [
        phone.record("job_transition", {"job_id": taken["id"], "to": "on_site", "location": place}, start),
        phone.record("note", {"job_id": taken["id"], "text": "gate code 4711; water under the sink"},
                     start + timedelta(minutes=2)),
        # the photo's bytes upload when there is a signal; the pressure reads 0.05 MPa (out of range:
        # the angle valve was half closed), then 0.28 once opened fully; the valve and a filter fitted
        *repair_offline(phone, taken["id"], start, fault_photo=fault_photo, signature=signature, pressure=(0.05, 0.28),
                        parts=[{"id": str(uuid.uuid4()), "part_sku": VALVE, "quantity": 1},
                               {"id": str(uuid.uuid4()), "part_sku": PP, "quantity": 1}]),
        phone.record("job_transition", {"job_id": taken["id"], "to": "completed"}, start + timedelta(minutes=60)),
    ]

    # --- technician, back in the van with a signal: the phone pushes, out of order and twice ----
    walk.to(start + timedelta(minutes=70))
    first_half, second_half = queue[:7], queue[7:]
    early = ok(phone.push(second_half))  # the upload queue raced: the later batch went first
    assert early["results"] == [] and early["gap_at"] == 2 and early["last_mutation_id"] == 1
    assert job(api, taken["id"], MANAGER)["status"] == "en_route"  # nothing applied out of order
    pushed = ok(phone.push(first_half, key=f"{phone.device_id}:batch-2"))
    again = ok(phone.push(first_half, key=f"{phone.device_id}:batch-2"))
    assert again == pushed
    results = {r["id"]: r for r in pushed["results"]}
    assert [r["status"] for r in pushed["results"]] == ["applied"] * 7 and pushed["gap_at"] is None
    assert results[5]["result"]["pending_evidence"] == [sha256(fault_photo)]  # waits for the photo's bytes
    assert (results[6]["result"]["step_status"], results[7]["result"]["step_status"]) == ("failed", "passed")
    assert not any(r.get("clock_flagged") for r in pushed["results"])  # offline is not a wrong clock

    # --- manager, looking at the job meanwhile: on site since the device's time; the bad reading
    # and its fix are both kept; the photo step still waits for its bytes
    seen = job(api, taken["id"], MANAGER)
    assert seen["status"] == "on_site" and at(seen["arrived_at"]) == start
    note = next(e for e in seen["events"] if e["kind"] == "note")
    assert note["reason"].startswith("gate code 4711") and at(note["recorded_at"]) == start + timedelta(minutes=2)
    sheet = checklist(api, taken["id"], MANAGER, include="revisions")
    pressure = step(sheet, "inlet_pressure")
    assert [(r["revision"], r["value"], r["status"]) for r in pressure["revisions"]] == [
        (1, 0.05, "failed"), (2, 0.28, "passed")]
    assert pressure["revisions"][0]["reasons"][0]["code"] == "below-min"
    assert pressure["status"] == "passed" and sheet["failed_steps"] == []
    assert step(sheet, "fault_photo")["status"] == "pending" and "fault_photo" in sheet["missing_steps"]

    # --- technician's phone: uploads the photo and the signature, then pushes the rest ----------
    uploaded = upload(api, fault_photo, as_=tech)
    assert uploaded["sha256"] == sha256(fault_photo) and uploaded["exif_taken_at"] is not None
    photo_step = step(checklist(api, taken["id"], tech), "fault_photo")
    assert photo_step["status"] == "passed" and [e["id"] for e in photo_step["current"]["evidence"]] == [
        uploaded["id"]]
    upload(api, signature, as_=tech, filename="signature.png")
    rest = ok(phone.push(second_half))
    assert statuses(rest) == [(n, "applied") for n in range(9, 17)] and rest["last_mutation_id"] == 16
    replayed = ok(phone.push(queue))  # the phone was not sure what got through: everything again
    assert statuses(replayed) == [(n, "duplicate") for n in range(2, 17)]
    assert replayed["results"][-1]["original"]["result"]["status"] == "completed"

    # --- the technician's phone: its replica now holds the finished job and the van's new levels
    latest = phone.pull()
    assert latest["snapshot"] is False and latest["last_mutation_id"] == 16
    assert phone.jobs[taken["id"]]["status"] == "completed"
    assert phone.jobs[taken["id"]]["checklist"]["status"] == "completed"
    assert (phone.van[VALVE]["on_hand"], phone.van[PP]["on_hand"]) == (1, 3)

    # --- manager: the visit is done, on the device's times; the checklist is complete and closed
    done = job(api, taken["id"], MANAGER)
    assert done["status"] == "completed" and done["sla_status"] == "ok"
    assert (at(done["arrived_at"]), at(done["completed_at"])) == (start, start + timedelta(minutes=60))
    assert [e["to_status"] for e in done["events"] if e["kind"] == "transition"][-3:] == [
        "en_route", "on_site", "completed"]
    sheet = checklist(api, taken["id"], MANAGER)
    assert (sheet["status"], sheet["complete"], sheet["missing_steps"]) == ("completed", True, [])
    assert sheet["technician_id"] == technician_id
    assert step(sheet, "customer_signature")["current"]["value"] == "Customer"
    assert_problem(put_step(api, taken["id"], "notes", "late", tech, recorded_at=walk.now), 409)

    # --- manager: the parts fitted came off the van; the bill is at list price, never above ----
    parts = parts_of(api, taken["id"], MANAGER)
    assert sorted((u["part"]["sku"], u["quantity"], u["location"]["code"]) for u in parts["usages"]) == [
        (PP, 1, van), (VALVE, 1, van)]
    assert all(at(u["recorded_at"]) == start + timedelta(minutes=35) for u in parts["usages"])
    assert (stock_level(api, van, VALVE)["on_hand"], stock_level(api, van, PP)["on_hand"]) == (1, 3)
    invoice = bill(api, taken["id"], MANAGER)
    assert invoice == bill(api, taken["id"], tech)  # the technician shows the customer the same bill
    lines = {(line["kind"], line["sku"]): line for line in invoice["lines"]}
    assert set(lines) == {("labour", None), ("part", PP), ("part", VALVE)}
    for sku in (PP, VALVE):
        line = lines[("part", sku)]
        assert line["list_unit_price"] == prices[sku] and Decimal(line["unit_price"]) <= Decimal(prices[sku])
    assert (lines[("part", VALVE)]["covered"], lines[("part", VALVE)]["amount"]) == (True, "0.00")  # warranty
    assert (lines[("part", PP)]["covered"], lines[("part", PP)]["amount"]) == (False, prices[PP])  # consumable
    assert (lines[("labour", None)]["covered"], lines[("labour", None)]["amount"]) == (True, "0.00")
    assert invoice["total"] == prices[PP] and invoice["currency"] == "CNY"
    assert_problem(api.get(f"{API}/jobs/{taken['id']}/bill", as_=OTHER_MANAGER), 404)

    # --- HQ: the warranty claim for the valve is waiting; HQ approves it ----------------------
    [claim] = parts["claims"]
    assert (claim["status"], claim["part"]["sku"], claim["amount"]) == ("submitted", VALVE, prices[VALVE])
    assert [c["id"] for c in ok(api.get(f"{API}/claims/?job_id={taken['id']}", as_=ADMIN))] == [claim["id"]]
    ok(api.post(f"{API}/claims/{claim['id']}/defective-return", as_=ADMIN, json={"note": "old valve received"}))
    decided = ok(api.post(f"{API}/claims/{claim['id']}/decision", as_=ADMIN, json={"approve": True}))
    assert decided["status"] == "approved"
    assert ok(api.get(f"{API}/claims/{claim['id']}", as_=MANAGER))["status"] == "approved"
    assert_problem(api.get(f"{API}/claims/{claim['id']}", as_=OTHER_MANAGER), 404)

    # --- manager: checked the checklist, the signature and the bill: closes the job ------------
    closed = ok(move(api, taken["id"], "closed", MANAGER, reason="checklist, signature and bill checked"))
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert_problem(move(api, taken["id"], "on_site", tech), 409)  # nothing moves a closed job back

    # --- the customer, an hour later: the link in the text message, no account ----------------
    walk.to(start + timedelta(hours=2))
    link = rating_link(api, taken["id"], MANAGER)
    assert link["rated"] is False and "job_completed" in [m["template"] for m in link["messages"]]
    page = ok(api.get(f"{API}/feedback/{token_of(link)}"))
    assert (page["job_reference"], page["rated"]) == (taken["reference"], False)
    assert page["technician"] == done["technician_name"]
    rated = ok(api.post(f"{API}/feedback/{token_of(link)}", json={"score": 5, "comment": "quick and tidy"}), 201)
    assert rated["score"] == 5
    assert rating_link(api, taken["id"], MANAGER)["rated"] is True
    assert not [i for i in ok(api.get(f"{API}/callbacks?page_size=100", as_=MANAGER)) if i["job_id"] == taken["id"]]

    # --- manager, end of the day: the KPIs moved (JSON and the CSV download agree) -------------
    after = kpis(api, MANAGER, day, day, technician=tech)["kpis"]
    assert (before["jobs_done"], before["rating_count"]) == (0, 0)  # nothing was done on that day before
    assert (after["jobs_done"], after["sla_compliance"], after["first_time_fix_rate"]) == (1, 1.0, 1.0)
    assert (after["rating_count"], after["rating_average"]) == (1, 5.0)
    # the phone's times: ten minutes' drive, an hour on site (the model's standard for a repair)
    assert (after["mean_travel_minutes"], after["mean_on_site_minutes"]) == (10.0, 60.0)
    assert after["on_site_vs_standard"] == 1.0
    point_view = kpis(api, MANAGER, day, day)
    mine = next(e for e in point_view["ranking"] if e["id"] == technician_id)
    assert mine["kpis"] == after
    rows = {r["name"]: r for r in kpis_csv(api, MANAGER, day, day)}
    assert int(rows[done["technician_name"]]["jobs_done"]) == after["jobs_done"]
    assert float(rows[done["technician_name"]]["mean_on_site_minutes"]) == after["mean_on_site_minutes"]
    assert_problem(api.get(f"{API}/kpis/?from={day}&to={day}", as_=tech), 403)
