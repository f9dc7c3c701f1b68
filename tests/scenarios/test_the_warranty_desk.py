"""HQ's warranty desk over a day, role by role through HTTP: a repair whose cause is misuse is
billed to the customer and its claim rejected; a genuine defect's claim waits for the old part
before HQ approves it; the same part claimed again for the same unit is held for review; an
activation by the wrong dealer is flagged; the warranty KPIs show the causes and the rejections."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    REVIEWER,
    at,
    bill,
    book,
    caller_unit,
    fill_repair_checklist,
    free_hour,
    next_working_day,
    ok,
    photo,
    record_fault_cause,
    repair_call,
    repair_with_a_valve,
    stock_take,
    take_in,
    team,
    transition,
    VALVE,
    unit_by_serial,
    upload,
)

MANAGER = "manager.hz01"


def test_the_warranty_desk_stops_misuse_repeat_claims_missing_parts_and_wrong_dealers(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))
    scaled = caller_unit(session, "HZ01", covered=True, on=day)
    worn = caller_unit(session, "HZ01", covered=True, on=day, skip=(scaled.serial,))

    # --- a repair whose cause is hard feed water: the customer pays, the claim is rejected ------
    misuse_job, misuse_claim = repair_with_a_valve(api, walk, scaled, day, 9, "WP-MEM-SCALE",
                                                   "feed water TDS 900, no softener fitted")
    assert (misuse_claim["status"], misuse_claim["rejection_code"]) == ("rejected", "misuse")
    failed = [c["check"] for c in misuse_claim["checks"] if c["passed"] is False]
    assert "fault_is_a_defect" in failed
    charged = bill(api, misuse_job["id"], MANAGER)
    valve_line = next(line for line in charged["lines"] if line["sku"] == VALVE)
    assert (valve_line["covered"], valve_line["amount"]) == (False, "68.00")  # list price, not above
    assert float(charged["total"]) > 68

    # --- a genuine defect: HQ cannot approve before the old valve is back -------------------------
    _defect_job, claim = repair_with_a_valve(api, walk, worn, day, 11, "WP-VLV-STUCK", "coil reads open")
    assert claim["status"] == "submitted"
    decision = f"{API}/claims/{claim['id']}/decision"
    assert_problem(api.post(decision, as_=ADMIN, json={"approve": True}), 409, code="defective-return-missing")
    ok(api.post(f"{API}/claims/{claim['id']}/defective-return", as_=ADMIN, json={"note": "coil burnt"}))
    approved = ok(api.post(decision, as_=ADMIN, json={"approve": True}))
    assert approved["status"] == "approved" and all(c["passed"] is not False for c in approved["checks"])

    # --- the same valve claimed again for the same unit that afternoon: held for review -----------
    _again_job, repeat = repair_with_a_valve(api, walk, worn, day, 14, "WP-VLV-STUCK", "valve again")
    assert repeat["status"] == "held"
    assert next(c for c in repeat["checks"] if c["check"] == "not_a_repeat")["passed"] is False
    held = ok(api.get(f"{API}/claims/?status=held&service_point_id={claim['service_point_id']}", as_=MANAGER))
    assert repeat["id"] in {c["id"] for c in held}
    ok(api.post(f"{API}/claims/{repeat['id']}/decision", as_=ADMIN,
                json={"approve": False, "reason": "second valve in a day: the first one was not faulty"}))

    # --- HQ loads the trade system's shipments: a unit activated by a dealer it never went to -----
    walk.to(local(day, 19))
    made = at(ok(api.get(f"{API}/units/{worn.serial}", as_=ADMIN))["manufactured_on"] + "T00:00:00+08:00").date()
    sold = made + timedelta(days=20)
    loaded = ok(api.post(f"{API}/journey-events", as_=ADMIN, json={"events": [
        {"serial": worn.serial, "kind": "to_dealer", "partner_code": "DL-HZ-02", "on": str(made + timedelta(days=3))},
        {"serial": worn.serial, "kind": "activation", "partner_code": "DL-SZ-01", "on": str(sold)}]}))
    assert [(e["serial"], e["flag"]) for e in loaded["flagged"]] == [(worn.serial, "activated_by_other_dealer")]
    flags = ok(api.get(f"{API}/journey-events/flags?dealer_code=DL-SZ-01&page_size=100", as_=REVIEWER))
    assert worn.serial in {e["serial"] for e in flags}
    report = ok(api.get(f"{API}/trade-partners/DL-HZ-02/unactivated-serials", as_=REVIEWER))
    assert report["serials"] and all(s["serial"] != worn.serial for s in report["serials"])  # the demo's unsold

    # --- HQ's warranty KPIs for the day: the causes found and the claims rejected -----------------
    eve = day - timedelta(days=1)  # claims count by the day the call came in (the first came the evening before)
    day_kpis = ok(api.get(f"{API}/kpis/warranty/?from={eve}&to={day}", as_=REVIEWER))
    [hz01] = [g for g in day_kpis["by_point"] if g["key"] == "HZ01"]
    assert hz01["repairs"] >= 3 and hz01["misuse"] >= 1
    assert {c["code"] for c in hz01["top"]} >= {"WP-MEM-SCALE", "WP-VLV-STUCK"}
    [hz01_claims] = [o for o in day_kpis["claims_by_point"] if o["key"] == "HZ01"]
    assert hz01_claims["rejections"].get("misuse", 0) >= 1 and hz01_claims["rejections"].get("hq_decision", 0) >= 1
    assert hz01_claims["approved"] >= 1


def on_site(api, walk, unit, day, description: str) -> tuple[dict, str, datetime]:
    """The call is taken, the manager books the first technician at ten or later, who arrives on time."""
    taken = take_in(api, repair_call(unit, day, (9, 18), description)).json
    worker = team(api, MANAGER)[0]
    start = free_hour(api, MANAGER, worker["id"], day, earliest=10)
    book(api, MANAGER, taken["id"], worker["id"], start)
    walk.to(start - timedelta(minutes=10))
    transition(api, taken["id"], "en_route", worker["username"], walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", worker["username"], walk.now, location=taken["location"])
    return taken, worker["username"], start


def test_the_warranty_desk_replaces_a_purifier_that_failed_in_its_first_fortnight(api, session, walk):
    """三包: a purifier bought nine days ago fails; the technician finds a defect and asks for a replacement
    with photos (a refund is past its seven days); HQ approves with a new unit of the same model, which
    carries the old card's remaining warranty and the annual package sold with the old one; the old unit
    comes back to HQ; the customer is texted."""
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day, 8), walk.now))
    owner = caller_unit(session, "HZ01", covered=True, on=day).customer_id
    made = day - timedelta(days=120)
    product = ok(api.get(f"{API}/products/?page_size=100", as_=ADMIN))
    ro500 = next(p["id"] for p in product if p["sku"] == "WP-RO500")
    serials = [f"RO{made.year}{9700000 + n:07d}" for n in (1, 2)]
    for serial in serials:
        ok(api.post(f"{API}/units/", as_=ADMIN, json={"serial": serial, "product_id": ro500,
                                                      "manufactured_on": str(made)}), 201)
    failed, spare = serials
    ok(api.post(f"{API}/units/{failed}/activation", as_=ADMIN, json={
        "customer_id": str(owner), "sales_channel": "retail", "purchased_on": str(day - timedelta(days=9))}), 201)
    package = ok(api.post(f"{API}/service-contracts", as_=MANAGER, json={  # 包年 sold with the purifier
        "serial": failed, "kind": "annual_service", "price": "360.00", "included_visits": 2}), 201)

    # --- the call, the visit, the cause and the request -------------------------------------------
    taken, tech, _start = on_site(api, walk, unit_by_serial(session, failed), day, "purifier stops, then floods")
    record_fault_cause(api, taken["id"], "WP-VLV-STUCK", tech, note="valve coil open after 9 days")
    photos = [upload(api, photo(taken=walk.now, place=taken["location"]), as_=tech)["id"] for _ in range(2)]
    body = {"job_id": taken["id"], "fault_cause_code": "WP-VLV-STUCK", "evidence": photos, "note": "9 days old"}
    assert_problem(api.post(f"{API}/remedy-requests", as_=tech, json=body | {"kind": "refund"}), 409,
                   code="outside-statutory-period")
    request = ok(api.post(f"{API}/remedy-requests", as_=tech, json=body | {"kind": "replace"}), 201)
    assert (request["grounds"], request["days_since_purchase"]) == ("replace_period", 9)

    # --- HQ decides: the replacement carries the remaining warranty, the old unit comes back -------
    walk.to(local(day, 15))
    waiting = ok(api.get(f"{API}/remedy-requests?status=pending&page_size=100", as_=MANAGER))
    assert request["id"] in {r["id"] for r in waiting}
    assert any(r["grounds"] == "repeat_fault" for r in waiting)  # the demo's unit repaired twice for one fault
    until = ok(api.get(f"{API}/units/{failed}/warranty", as_=ADMIN))["warranty_until"]
    approved = ok(api.post(f"{API}/remedy-requests/{request['id']}/decision", as_=ADMIN,
                           json={"approve": True, "replacement_serial": spare}))
    assert approved["replacement_serial"] == spare
    assert ok(api.get(f"{API}/units/{failed}/warranty", as_=ADMIN))["coverage"]["status"] == "closed"
    assert ok(api.get(f"{API}/units/{spare}/warranty", as_=ADMIN))["warranty_until"] == until
    texted = ok(api.get(f"{API}/notifications?template=remedy_decided&job_id={taken['id']}", as_=MANAGER))
    assert [m["payload"]["replacement_serial"] for m in texted] == [spare]
    # the annual package and the filter rhythm the customer paid for go on with the new purifier
    assert texted[0]["payload"]["contracts"] == [package["reference"]]
    followed = ok(api.get(f"{API}/service-contracts/{package['id']}", as_=MANAGER))
    assert (followed["serial"], followed["status"]) == (spare, "active")
    walk.to(local(day + timedelta(days=1), 10))
    [back] = [r for r in ok(api.get(f"{API}/unit-returns?status=expected&page_size=100", as_=ADMIN))
              if r["serial"] == failed]
    assert ok(api.post(f"{API}/unit-returns/{back['id']}/receipt", as_=ADMIN, json={"note": "valve coil open"}))[
        "status"] == "received"
    assert ok(api.get(f"{API}/replacement-suggestions?page_size=100", as_=REVIEWER))  # the demo's repeat faults


def test_the_warranty_desk_bills_an_annual_package_not_the_customer(api, session, walk):
    """包年: the manager sells an annual package (two visits, two PP cartridges) for a purifier out of
    warranty; a repair under it costs the customer nothing for what is included; HQ's morning run
    reminds the customers whose contract ends within the month (the demo's HZ01 package); the customer
    moves away and the package is cancelled with the unused share refunded."""
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day, 8), walk.now))
    unit = caller_unit(session, "HZ01", covered=False, on=day)
    contract = ok(api.post(f"{API}/service-contracts", as_=MANAGER, json={
        "serial": unit.serial, "kind": "annual_service", "price": "360.00", "included_visits": 2,
        "parts": [{"part_sku": "FLT-PP-S1", "quantity": 2}]}), 201)
    assert contract["ends_on"] > str(day)
    plans = ok(api.get(f"{API}/maintenance-plans?unit_id={unit.id}", as_=ADMIN))
    assert [p["interval_days"] for p in plans] == [182]  # the plan follows the package's two visits

    taken, tech, start = on_site(api, walk, unit, day, "water tastes of plastic")
    stock_take(api, f"VAN-{tech}", "FLT-PP-S1", 2, as_=MANAGER)
    ok(api.post(f"{API}/jobs/{taken['id']}/parts", as_=tech, json={"part_sku": "FLT-PP-S1", "quantity": 1}), 201)
    walk.to(start + timedelta(minutes=50))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"])
    record_fault_cause(api, taken["id"], "WP-PMP-NOISE", tech)
    walk.to(start + timedelta(minutes=55))
    charged = bill(api, taken["id"], MANAGER)
    assert charged["total"] == "0.00"
    assert {line["paid_by"] for line in charged["lines"]} == {f"contract {contract['reference']}"}
    assert transition(api, taken["id"], "completed", tech, walk.now)["status"] == "completed"
    used = ok(api.get(f"{API}/service-contracts/{contract['id']}", as_=MANAGER))
    assert (used["visits_used"], used["parts"][0]["used"]) == (1, 1)

    walk.to(local(day, 19))
    ok(api.post(f"{API}/service-contracts/reminders", as_=ADMIN, json={"days_ahead": 30}), 202)
    reminders = ok(api.get(f"{API}/notifications?template=contract_expiring&page_size=100", as_=ADMIN))
    assert reminders and contract["reference"] not in {m["payload"]["reference"] for m in reminders}

    # The customer moves away that evening: the package is cancelled, half of it is owed back (one of
    # two visits used), the customer is texted, and the filter rhythm is the model's again.
    walk.to(local(day, 20))
    cancelled = ok(api.post(f"{API}/service-contracts/{contract['id']}/cancellation", as_=MANAGER,
                            json={"reason": "customer moved to another city"}))
    assert (cancelled["status"], cancelled["refund"]) == ("cancelled", "180.00")
    texted = ok(api.get(f"{API}/notifications?template=contract_cancelled&page_size=100", as_=MANAGER))
    assert [m["payload"]["refund"] for m in texted if m["payload"]["reference"] == contract["reference"]] == ["180.00"]
    assert [p["interval_days"] for p in ok(api.get(f"{API}/maintenance-plans?unit_id={unit.id}", as_=ADMIN))] != [182]


def test_the_warranty_desk_runs_a_recall_and_follows_it_per_point(api, walk):
    """HQ launches the demo's recall of the RO-800 inlet valve (a model and a year of manufacture): the
    background task opens one job per activated unit and texts each customer; HQ reads the progress and
    the completion per point, each manager their own point's share; launching again is refused."""
    walk.to(max(local(next_working_day(api, MANAGER, SUITE_TODAY), 9), walk.now))
    [campaign] = [c for c in ok(api.get(f"{API}/recall-campaigns", as_=REVIEWER)) if c["code"] == "RC-RO800-VALVE"]
    assert campaign["status"] == "draft" and campaign["total"] > 0
    ok(api.post(f"{API}/recall-campaigns/{campaign['id']}/launch", as_=ADMIN), 202)
    done = ok(api.get(f"{API}/recall-campaigns/{campaign['id']}", as_=REVIEWER))
    assert done["status"] == "done" and done["processed"] == done["total"] == done["opened"] + done["failed"]
    assert done["opened"] > 0
    per_point = ok(api.get(f"{API}/recall-campaigns/{campaign['id']}/points", as_=REVIEWER))
    assert sum(p["opened"] for p in per_point) == done["opened"] and all(p["open"] == p["opened"] for p in per_point)
    texted = ok(api.get(f"{API}/notifications?template=recall_opened&page_size=100", as_=ADMIN))
    assert len([m for m in texted if m["payload"]["code"] == "RC-RO800-VALVE"]) == done["opened"]
    mine = ok(api.get(f"{API}/recall-campaigns/{campaign['id']}/points", as_=MANAGER))
    assert {p["code"] for p in mine} <= {"HZ01"}
    assert_problem(api.post(f"{API}/recall-campaigns/{campaign['id']}/launch", as_=ADMIN), 409)
