"""HQ's warranty desk over a day, role by role through HTTP: a repair whose cause is misuse is
billed to the customer and its claim rejected; a genuine defect's claim waits for the old part
before HQ approves it; the same part claimed again for the same unit is held for review; an
activation by the wrong dealer is flagged; the warranty KPIs show the causes and the rejections."""

from __future__ import annotations

from datetime import timedelta

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
    record_fault_cause,
    repair_call,
    stock_take,
    take_in,
    team,
    transition,
)

MANAGER = "manager.hz01"
VALVE = "VLV-SOL-IN"  # the RO models' inlet valve: a warranty part


def repair_with_a_valve(api, walk, unit, day, hour: int, cause: str, note: str) -> tuple[dict, dict]:
    """Call centre takes the call, the manager books, the technician fits a valve and records the cause."""
    taken = take_in(api, repair_call(unit, day, (9, 18), "no water from the purifier tap")).json
    worker = team(api, MANAGER)[0]
    tech = worker["username"]
    start = free_hour(api, MANAGER, worker["id"], day, earliest=hour)
    book(api, MANAGER, taken["id"], worker["id"], start)
    walk.to(max(start - timedelta(minutes=15), walk.now))
    transition(api, taken["id"], "en_route", tech, walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
    stock_take(api, f"VAN-{tech}", VALVE, 1, as_=MANAGER)
    walk.to(start + timedelta(minutes=40))
    fitted = ok(api.post(f"{API}/jobs/{taken['id']}/parts", as_=tech, json={"part_sku": VALVE, "quantity": 1}), 201)
    [claim] = fitted["claims"]
    walk.to(start + timedelta(minutes=58))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"])
    refused = assert_problem(api.post(f"{API}/jobs/{taken['id']}/transitions", as_=tech, json={"to": "completed"}),
                             409, code="fault-cause-missing")
    assert "fault cause" in refused["detail"]
    record_fault_cause(api, taken["id"], cause, tech, note=note)
    walk.to(start + timedelta(minutes=60))
    assert transition(api, taken["id"], "completed", tech, walk.now)["status"] == "completed"
    return taken, ok(api.get(f"{API}/claims/{claim['id']}", as_=MANAGER))


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
