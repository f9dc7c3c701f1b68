"""Claims that check themselves, through HTTP: every claim shows the checks it passed and failed; a
repeat claim for the same unit and part within HQ's window is held for review (the fraud case "a
repeat claim"); no claim is approved before the old part is back at HQ or HQ waived it on photo
evidence (the fraud case "a claim without the old part")."""

from __future__ import annotations

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY, move
from tests.api.sop_builders import photo_ids
from tests.api.test_stock_jobs import unit_serial
from tests.api.test_stock_movements import counted, level
from tests.api.warranty_builders import (
    DEFECT,
    TECH,
    VALVE,
    VAN1,
    check,
    claims_of,
    fit,
    repair_on_site,
    set_cause,
    warranty_hooks,  # noqa: F401 (fixture)
)
from tests.helpers import assert_problem

pytestmark = pytest.mark.usefixtures("warranty_hooks")


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield


def claimed_repair(api, session, serial=None) -> tuple[dict, dict]:
    counted(api, VAN1, VALVE, 1)
    job = repair_on_site(api, session, serial=serial)
    [claim] = fit(api, job)["claims"]
    assert set_cause(api, job, DEFECT).status_code == 200
    assert move(api, job, "completed", as_=TECH).status_code == 200
    return job, claim


def decide(api, claim, approve=True, reason=""):
    return api.post(f"/api/v1/claims/{claim['id']}/decision", as_="admin", json={"approve": approve, "reason": reason})


def test_each_claim_shows_the_checks_it_passed_and_failed(api, session):
    _job, claim = claimed_repair(api, session)
    assert [(c["check"], c["passed"]) for c in claim["checks"]] == [
        ("unit_named", True), ("activated", True), ("in_warranty", True), ("part_fits", True),
        ("not_a_repeat", True), ("old_part_returned", False)]
    job = repair_on_site(api, session)  # a part that does not fit: rejected, later checks not reached
    counted(api, VAN1, "THS-EH", 1)
    [rejected] = api.post(f"/api/v1/jobs/{job['id']}/parts", as_="manager.hz01", json={
        "part_sku": "THS-EH", "quantity": 1, "override_reason": "heater part on the purifier line"}).json["claims"]
    assert (check(rejected, "part_fits")["passed"], rejected["status"]) == (False, "rejected")
    assert check(rejected, "in_warranty")["passed"] is True


def test_a_claim_without_the_old_part_is_not_approved_until_hq_receives_it(api, session):
    _job, claim = claimed_repair(api, session)
    refused = decide(api, claim)
    assert_problem(refused, 409, code="defective-return-missing")
    assert api.get(f"/api/v1/claims/{claim['id']}", as_="admin").json["status"] == "submitted"
    url = f"/api/v1/claims/{claim['id']}/defective-return"
    assert_problem(api.post(url, as_="manager.hz01", json={}), 403)
    before = level(api, "HQ", VALVE)["defective"]
    received = api.post(url, as_="admin", json={"note": "coil burnt, as reported"})
    assert received.status_code == 200 and received.json["return_received_at"], received.json
    assert check(received.json, "old_part_returned")["passed"] is True
    assert level(api, "HQ", VALVE)["defective"] == before + 1
    assert_problem(api.post(url, as_="admin", json={}), 409)  # counted once
    approved = decide(api, claim)
    assert approved.status_code == 200 and approved.json["status"] == "approved"


def test_hq_may_waive_the_return_on_photo_evidence_with_a_reason(api, session):
    _job, claim = claimed_repair(api, session)
    [photo] = photo_ids(api, 1, as_=TECH)
    url = f"/api/v1/claims/{claim['id']}/return-waiver"
    assert_problem(api.post(url, as_="admin", json={"attachment_id": photo}), 422, field="reason")
    assert_problem(api.post(url, as_="admin", json={"attachment_id": "8f0e8ad1-0000-4000-8000-000000000000",
                                                   "reason": "x"}), 422, field="attachment_id")
    waived = api.post(url, as_="admin", json={"attachment_id": photo, "reason": "valve crushed in transit, photo"})
    assert waived.status_code == 200, waived.json
    assert check(waived.json, "old_part_returned") == {
        "check": "old_part_returned", "passed": True,
        "detail": "waived by HQ on photo evidence: valve crushed in transit, photo"}
    assert decide(api, claim).status_code == 200


def test_a_repeat_claim_for_the_same_unit_and_part_is_held_for_review(api, session):
    serial = unit_serial(session, covered=True)
    _first_job, first = claimed_repair(api, session, serial)
    assert first["status"] == "submitted"
    _second_job, second = claimed_repair(api, session, serial)
    assert second["status"] == "held"
    repeat = check(second, "not_a_repeat")
    assert repeat["passed"] is False and "held for review" in repeat["detail"]
    held = api.get("/api/v1/claims/?status=held&page_size=100", as_="admin").json
    assert second["id"] in {c["id"] for c in held}
    assert_problem(decide(api, second), 409, code="defective-return-missing")
    rejected = decide(api, second, approve=False, reason="same valve twice in a week: fitted to another unit")
    assert (rejected.json["status"], rejected.json["rejection_code"]) == ("rejected", "hq_decision")


def test_hq_sets_the_repeat_window_and_zero_turns_the_check_off(api, session):
    assert api.get("/api/v1/claims/policy", as_="manager.hz01").json["repeat_window_days"] == 90
    assert_problem(api.put("/api/v1/claims/policy", as_="manager.hz01", json={"repeat_window_days": 5}), 403)
    assert_problem(api.put("/api/v1/claims/policy", as_="admin", json={"repeat_window_days": -1}), 422,
                   field="repeat_window_days")
    assert api.put("/api/v1/claims/policy", as_="admin", json={"repeat_window_days": 0}).json[
        "repeat_window_days"] == 0
    serial = unit_serial(session, covered=True)
    claimed_repair(api, session, serial)
    _job, again = claimed_repair(api, session, serial)
    assert again["status"] == "submitted" and check(again, "not_a_repeat")["passed"] is True


def test_claims_are_listed_with_their_checks_for_the_point(api, session):
    job, claim = claimed_repair(api, session)
    [listed] = claims_of(api, job, as_="manager.hz01")
    assert listed["id"] == claim["id"] and [c["check"] for c in listed["checks"]][-1] == "old_part_returned"
