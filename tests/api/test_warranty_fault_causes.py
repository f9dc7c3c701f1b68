"""Fault causes at completion, through HTTP: HQ's catalogue per product category, a repair that
cannot complete without a cause, and misuse (the fraud case "a misuse repair claimed as warranty"):
chargeable at list price and its claims rejected automatically with the reason."""

from __future__ import annotations

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY, move
from tests.api.test_stock_movements import counted
from tests.api.warranty_builders import (
    DEFECT,
    HEATER_DEFECT,
    MANAGER,
    MISUSE,
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


class TestCatalogue:
    def test_hq_keeps_the_catalogue_per_category_and_every_role_reads_it(self, api):
        body = {"code": "wp-tap-loose", "category": "water_purifier", "component": "faucet",
                "symptom": "drips", "cause": "gasket worn", "kind": "defect"}
        assert_problem(api.post("/api/v1/fault-causes", as_=MANAGER, json=body), 403)
        created = api.post("/api/v1/fault-causes", as_="admin", json=body)
        assert created.status_code == 201 and created.json["code"] == "WP-TAP-LOOSE", created.json
        assert_problem(api.post("/api/v1/fault-causes", as_="admin", json=body), 409)
        assert_problem(api.post("/api/v1/fault-causes", as_="admin", json=body | {"kind": "fate"}), 422, field="kind")
        heaters = api.get("/api/v1/fault-causes?category=water_heater&page_size=100", as_=TECH).json
        assert heaters and {c["category"] for c in heaters} == {"water_heater"}
        misuse = api.get("/api/v1/fault-causes?kind=misuse&page_size=100", as_=TECH).json
        assert MISUSE in {c["code"] for c in misuse} and {c["kind"] for c in misuse} == {"misuse"}

    def test_hq_retires_a_cause_with_if_match_and_it_can_no_longer_be_chosen(self, api, session):
        cause = api.post("/api/v1/fault-causes", as_="admin", json={
            "code": "WP-OLD", "category": "water_purifier", "component": "c", "symptom": "s", "cause": "x",
            "kind": "defect"}).json
        url = f"/api/v1/fault-causes/{cause['id']}"
        assert api.patch(url, as_="admin", json={"active": False}).status_code == 428
        etag = api.get(url, as_="admin").headers["ETag"]
        retired = api.patch(url, as_="admin", json={"active": False}, headers={"If-Match": etag})
        assert retired.status_code == 200 and retired.json["active"] is False
        job = repair_on_site(api, session)
        assert_problem(set_cause(api, job, "WP-OLD"), 422, field="fault_cause_code")


class TestCompletionGate:
    def test_a_repair_cannot_complete_without_a_fault_cause(self, api, session):
        job = repair_on_site(api, session)
        assert_problem(move(api, job, "completed", as_=TECH), 409, code="fault-cause-missing")
        assert api.get(f"/api/v1/jobs/{job['id']}", as_=MANAGER).json["status"] == "on_site"
        assert api.get(f"/api/v1/jobs/{job['id']}/fault-cause", as_=MANAGER).json["fault_cause"] is None
        recorded = set_cause(api, job, DEFECT, note="coil reads open")
        assert recorded.status_code == 200, recorded.json
        assert (recorded.json["fault_cause"]["code"], recorded.json["note"]) == (DEFECT, "coil reads open")
        assert move(api, job, "completed", as_=TECH).status_code == 200
        seen = api.get(f"/api/v1/jobs/{job['id']}/fault-cause", as_=MANAGER).json
        assert seen["fault_cause"]["kind"] == "defect"
        assert_problem(set_cause(api, job, MISUSE), 409)  # completion fixed it

    def test_the_cause_must_be_in_the_catalogue_and_of_the_jobs_category(self, api, session):
        job = repair_on_site(api, session)
        assert_problem(set_cause(api, job, "NO-SUCH-CAUSE"), 422, field="fault_cause_code")
        assert_problem(set_cause(api, job, HEATER_DEFECT), 422, field="fault_cause_code")
        assert_problem(api.put(f"/api/v1/jobs/{job['id']}/fault-cause", as_=TECH, json={"note": "?"}), 422,
                       field="fault_cause_code")
        assert_problem(set_cause(api, job, DEFECT, as_="tech.hz01.2"), 404)  # not their job
        assert_problem(set_cause(api, job, DEFECT, as_="manager.hz02"), 404)
        assert_problem(set_cause(api, job, DEFECT, as_="reviewer"), 403)
        assert set_cause(api, job, DEFECT, as_=MANAGER).status_code == 200


class TestMisuse:
    def test_a_misuse_repair_claimed_as_warranty_is_rejected_and_billed_at_list_price(self, api, session):
        counted(api, VAN1, VALVE, 1)
        job = repair_on_site(api, session, covered=True)
        [claim] = fit(api, job)["claims"]
        assert claim["status"] == "submitted"
        before = api.get(f"/api/v1/jobs/{job['id']}/bill", as_=MANAGER).json
        assert before["total"] == "0.00"

        assert set_cause(api, job, MISUSE, note="feed water TDS 900, no softener").status_code == 200
        [rejected] = claims_of(api, job)
        assert (rejected["status"], rejected["rejection_code"]) == ("rejected", "misuse")
        assert MISUSE in rejected["rejection_detail"] and rejected["decided_by"] is None
        assert check(rejected, "fault_is_a_defect")["passed"] is False
        assert_problem(api.post(f"/api/v1/claims/{rejected['id']}/decision", as_="admin", json={"approve": True}), 409)

        bill = api.get(f"/api/v1/jobs/{job['id']}/bill", as_=MANAGER).json
        lines = {(line["kind"], line["sku"]): line for line in bill["lines"]}
        assert lines[("part", VALVE)]["covered"] is False and lines[("part", VALVE)]["amount"] == "68.00"
        assert lines[("labour", None)]["covered"] is False and lines[("labour", None)]["amount"] != "0.00"
        over = api.put(f"/api/v1/jobs/{job['id']}/bill/overrides", as_=MANAGER, json={"overrides": [
            {"part_sku": VALVE, "unit_price": "99.00", "reason": "misuse surcharge"}]})
        assert_problem(over, 422)  # never above list
        assert move(api, job, "completed", as_=TECH).status_code == 200

    def test_a_misuse_finding_corrected_to_a_defect_before_completion_restores_the_warranty(self, api, session):
        counted(api, VAN1, VALVE, 1)
        job = repair_on_site(api, session, covered=True)
        fit(api, job)
        set_cause(api, job, MISUSE)
        assert claims_of(api, job)[0]["status"] == "rejected"
        assert set_cause(api, job, DEFECT).status_code == 200
        [claim] = claims_of(api, job)
        assert (claim["status"], claim["rejection_code"]) == ("submitted", None)
        assert check(claim, "fault_is_a_defect")["passed"] is True
        assert api.get(f"/api/v1/jobs/{job['id']}/bill", as_=MANAGER).json["total"] == "0.00"

    def test_parts_fitted_after_a_misuse_finding_file_no_claim(self, api, session):
        counted(api, VAN1, VALVE, 1)
        job = repair_on_site(api, session, covered=True)
        set_cause(api, job, MISUSE)
        assert fit(api, job)["claims"] == []
