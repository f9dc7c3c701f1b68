"""Parts on jobs through the HTTP API: reservations around the job lifecycle, parts fitted,
bills at list price, and warranty claims (the jobs API drives assignment and transitions)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.jobs import hooks
from dispatch.network.models import ProductCategory
from dispatch.stock.job_hooks import keep_reservations_in_step
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    free_start,
    local,
    move,
    technician,
    units,
)
from tests.api.test_stock_movements import counted, level
from tests.helpers import assert_problem

VALVE, PP, THERMOSTAT, ANODE = "VLV-SOL-IN", "FLT-PP-S1", "THS-EH", "ANO-MG-EH"
UF = "FLT-UF-S2"  # fits the UF-300, the demo's out-of-warranty purifier
VAN1, VAN2 = "VAN-tech.hz01.1", "VAN-tech.hz01.2"


@pytest.fixture(autouse=True)
def stock_hooks_only(monkeypatch):
    """The job lifecycle with only the stock hook (no SOP completion gate), on a frozen Monday."""
    monkeypatch.setattr(hooks, "_before", [])
    monkeypatch.setattr(hooks, "_after", [keep_reservations_in_step])
    monkeypatch.setattr(hooks, "_loaded", True)
    with clock.frozen(MONDAY):
        yield


def unit_serial(session, *, covered: bool) -> str:
    """An activated unit in HZ01's area: an RO purifier in warranty on Monday (the valve fits it),
    or any purifier out of warranty."""
    found = [u for u in units(session, "HZ01", category=ProductCategory.WATER_PURIFIER, covered=covered,
                              in_warranty_on=MONDAY.date()) if not covered or u.product.sku in ("WP-RO500", "WP-RO800")]
    assert found, "the demo data has such a unit"
    return found[0].serial


def new_job(api, session, *, covered: bool = True, expected: list | None = None) -> dict:
    job = create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=covered))
    if expected is not None:
        response = api.put(f"/api/v1/jobs/{job['id']}/parts/expected", as_="manager.hz01", json={"parts": expected})
        assert response.status_code == 200, response.json
    return job


def schedule(api, session, job, username="tech.hz01.1", **extra):
    worker = technician(session, username).id
    response = assign(api, job, worker, free_start(session, worker, TUESDAY, 9), **extra)
    assert response.status_code == 200, response.json
    return response


def on_site(api, session, job, username="tech.hz01.1"):
    schedule(api, session, job, username)
    for to in ("en_route", "on_site"):
        assert move(api, job, to, as_=username).status_code == 200


def parts_of(api, job, as_="manager.hz01") -> dict:
    response = api.get(f"/api/v1/jobs/{job['id']}/parts", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def fit(api, job, as_="tech.hz01.1", **line):
    return api.post(f"/api/v1/jobs/{job['id']}/parts", as_=as_, json=line)


class TestReservations:
    def test_scheduling_reserves_the_expected_parts_from_the_technicians_van(self, api, session):
        counted(api, VAN1, VALVE, 2)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 1}])
        assert parts_of(api, job)["reservations"] == []  # dispatched: nothing is held yet
        schedule(api, session, job)
        parts = parts_of(api, job)
        assert [(r["location"]["code"], r["part"]["sku"], r["quantity"], r["status"]) for r in parts["reservations"]] \
            == [(VAN1, VALVE, 1, "active")]
        assert parts["shortages"] == [] and parts["expected"][0]["shortage"] == 0
        van = level(api, VAN1, VALVE)
        assert (van["on_hand"], van["reserved"], van["available"]) == (2, 1, 1)
        reserve = api.get(f"/api/v1/stock/movements?job_id={job['id']}", as_="admin").json
        assert [(m["kind"], m["delta_reserved"]) for m in reserve] == [("reserve", 1)]

    def test_when_the_van_lacks_the_part_the_point_reserves_it(self, api, session):
        counted(api, VAN1, VALVE, 0)
        counted(api, "HZ01", VALVE, 3)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 2}])
        schedule(api, session, job)
        assert [(r["location"]["code"], r["quantity"]) for r in parts_of(api, job)["reservations"]] == [("HZ01", 2)]
        assert level(api, "HZ01", VALVE)["available"] == 1

    def test_a_shortage_does_not_block_scheduling_and_says_where_the_part_is(self, api, session):
        counted(api, VAN1, VALVE, 0)
        counted(api, "HZ01", VALVE, 0)
        counted(api, HQ := "HQ", VALVE, 40)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 1}])
        assert schedule(api, session, job).json["status"] == "scheduled"
        parts = parts_of(api, job)
        assert parts["reservations"] == []
        [short] = parts["shortages"]
        assert (short["part"]["sku"], short["shortage"]) == (VALVE, 1)
        assert {"code": HQ, "kind": "hq", "available": 40} in [
            {k: s[k] for k in ("code", "kind", "available")} for s in short["shortage_sources"]]

        # The manager has it sent to the point, then reserves again.
        transfer = api.post("/api/v1/stock/transfers", as_="admin", json={
            "from_location": HQ, "to_location": "HZ01", "lines": [{"part_sku": VALVE, "quantity": 1}]}).json
        api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="manager.hz01")
        retried = api.post(f"/api/v1/jobs/{job['id']}/parts/reservations", as_="manager.hz01")
        assert retried.status_code == 200, retried.json
        assert retried.json["shortages"] == []
        assert [(r["location"]["code"], r["quantity"]) for r in retried.json["reservations"]] == [("HZ01", 1)]

    def test_completion_releases_what_was_reserved_but_not_used(self, api, session):
        counted(api, VAN1, VALVE, 3)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 2}])
        on_site(api, session, job)
        fitted = fit(api, job, part_sku=VALVE, quantity=1)
        assert fitted.status_code == 201, fitted.json
        assert [(u["part"]["sku"], u["quantity"], u["from_reservation"], u["location"]["code"])
                for u in fitted.json["usages"]] == [(VALVE, 1, 1, VAN1)]
        van = level(api, VAN1, VALVE)
        assert (van["on_hand"], van["reserved"]) == (2, 1)

        assert move(api, job, "completed", as_="tech.hz01.1").status_code == 200
        [reservation] = parts_of(api, job)["reservations"]
        assert (reservation["status"], reservation["consumed"], reservation["released"],
                reservation["open_quantity"]) == ("released", 1, 1, 0)
        van = level(api, VAN1, VALVE)
        assert (van["on_hand"], van["reserved"], van["available"]) == (2, 0, 2)
        kinds = sorted(m["kind"] for m in api.get(f"/api/v1/stock/movements?job_id={job['id']}", as_="admin").json)
        assert kinds == ["consume", "release", "reserve"]

    def test_cancelling_and_unscheduling_release_the_reservation(self, api, session):
        counted(api, VAN1, VALVE, 1)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 1}])
        schedule(api, session, job)
        assert level(api, VAN1, VALVE)["reserved"] == 1
        assert move(api, job, "dispatched", as_="manager.hz01", reason="customer asked for next week").status_code == 200
        assert level(api, VAN1, VALVE)["reserved"] == 0
        schedule(api, session, job)
        assert level(api, VAN1, VALVE)["reserved"] == 1
        assert move(api, job, "cancelled", as_="manager.hz01", reason="customer bought a new unit").status_code == 200
        assert level(api, VAN1, VALVE)["reserved"] == 0

    def test_reassigning_the_job_moves_the_reservation_to_the_new_van(self, api, session):
        counted(api, VAN1, VALVE, 1)
        counted(api, VAN2, VALVE, 1)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 1}])
        schedule(api, session, job)
        schedule(api, session, job, "tech.hz01.2", reason="tech.hz01.1 is sick")
        assert (level(api, VAN1, VALVE)["reserved"], level(api, VAN2, VALVE)["reserved"]) == (0, 1)
        active = [r for r in parts_of(api, job)["reservations"] if r["status"] == "active"]
        assert [r["location"]["code"] for r in active] == [VAN2]

    def test_changing_the_expected_parts_of_a_scheduled_job_follows_at_once(self, api, session):
        counted(api, VAN1, VALVE, 3)
        job = new_job(api, session, expected=[{"part_sku": VALVE, "quantity": 3}])
        schedule(api, session, job)
        assert level(api, VAN1, VALVE)["reserved"] == 3
        response = api.put(f"/api/v1/jobs/{job['id']}/parts/expected", as_="manager.hz01",
                           json={"parts": [{"part_sku": VALVE, "quantity": 1}]})
        assert response.status_code == 200, response.json
        assert level(api, VAN1, VALVE)["reserved"] == 1
        api.put(f"/api/v1/jobs/{job['id']}/parts/expected", as_="manager.hz01", json={"parts": []})
        assert level(api, VAN1, VALVE)["reserved"] == 0

    def test_only_the_points_manager_plans_parts_and_validates_them(self, api, session):
        job = new_job(api, session)
        url = f"/api/v1/jobs/{job['id']}/parts/expected"
        assert_problem(api.put(url, as_="manager.hz02", json={"parts": []}), 404)
        assert_problem(api.put(url, as_="reviewer", json={"parts": []}), 403)
        assert_problem(api.put(url, as_="manager.hz01", json={"parts": [{"part_sku": "NOPE", "quantity": 1}]}),
                       422, field="parts.0.part_sku")
        assert_problem(api.put(url, as_="manager.hz01", json={"parts": [{"part_sku": VALVE, "quantity": 100}]}),
                       422, field="parts.0.quantity")
        assert_problem(api.put(url, as_="manager.hz01", json={
            "parts": [{"part_sku": VALVE, "quantity": 1}, {"part_sku": VALVE, "quantity": 2}]}), 422, field="parts.1")


class TestConsumption:
    def test_only_the_assigned_technician_records_parts_and_only_on_site(self, api, session):
        counted(api, VAN1, VALVE, 2)
        job = new_job(api, session)
        schedule(api, session, job)
        assert_problem(fit(api, job, part_sku=VALVE, quantity=1), 409)  # scheduled, not on site yet
        for to in ("en_route", "on_site"):
            move(api, job, to, as_="tech.hz01.1")
        assert_problem(fit(api, job, as_="tech.hz01.2", part_sku=VALVE, quantity=1), 404)
        assert_problem(fit(api, job, as_="reviewer", part_sku=VALVE, quantity=1), 403)
        assert_problem(fit(api, job, part_sku=VALVE, quantity=1, **{"from": "HZ02"}), 422, field="lines.0.from")
        assert fit(api, job, part_sku=VALVE, quantity=1).status_code == 201

    def test_fitting_more_than_the_van_holds_is_409_and_records_nothing(self, api, session):
        counted(api, VAN1, VALVE, 1)
        counted(api, VAN1, PP, 5)
        job = new_job(api, session)
        on_site(api, session, job)
        response = fit(api, job, lines=[{"part_sku": PP, "quantity": 1}, {"part_sku": VALVE, "quantity": 2}])
        problem = assert_problem(response, 409, code="insufficient-stock")
        assert (problem["location_code"], problem["part_sku"], problem["available"]) == (VAN1, VALVE, 1)
        assert parts_of(api, job)["usages"] == []
        assert (level(api, VAN1, PP)["on_hand"], level(api, VAN1, VALVE)["on_hand"]) == (5, 1)
        counted(api, "HZ01", VALVE, 1)
        from_point = fit(api, job, part_sku=VALVE, quantity=2, **{"from": "HZ01"})
        assert_problem(from_point, 409, code="insufficient-stock")
        from_point = fit(api, job, part_sku=VALVE, quantity=1, **{"from": "HZ01"})
        assert from_point.status_code == 201
        assert [u["location"]["code"] for u in from_point.json["usages"]] == ["HZ01"]
        assert level(api, "HZ01", VALVE)["on_hand"] == 0

    def test_a_replayed_line_is_recorded_once(self, api, session):
        counted(api, VAN1, PP, 4)
        job = new_job(api, session)
        on_site(api, session, job)
        line = {"id": str(uuid.uuid4()), "part_sku": PP, "quantity": 2, "recorded_at": local(TUESDAY, 10).isoformat()}
        first = fit(api, job, lines=[line])
        again = fit(api, job, lines=[line])
        assert first.status_code == again.status_code == 201
        assert len(again.json["usages"]) == 1 and again.json["usages"][0]["id"] == line["id"]
        assert level(api, VAN1, PP)["on_hand"] == 2
        assert_problem(fit(api, job, lines=[line | {"quantity": 1}]), 409)

    def test_the_body_is_one_part_or_lines(self, api, session):
        job = new_job(api, session)
        on_site(api, session, job)
        assert_problem(fit(api, job, quantity=1), 422, field="part_sku")
        assert_problem(fit(api, job, part_sku=PP), 422, field="quantity")
        assert_problem(fit(api, job, part_sku=PP, quantity=1, lines=[{"part_sku": PP, "quantity": 1}]), 422,
                       field="lines")
        assert_problem(fit(api, job, lines=[{"part_sku": PP, "quantity": 1, "recorded_at": "2027-03-02T10:00:00"}]),
                       422, field="lines.0.recorded_at")


class TestBills:
    def test_an_out_of_warranty_repair_is_labour_plus_parts_at_list_price(self, api, session):
        counted(api, VAN1, UF, 1)
        counted(api, VAN1, PP, 2)
        job = new_job(api, session, covered=False)
        assert job["warranty_decision"] == "chargeable"
        on_site(api, session, job)
        fitted = fit(api, job, lines=[{"part_sku": UF, "quantity": 1}, {"part_sku": PP, "quantity": 2}])
        assert fitted.status_code == 201 and fitted.json["claims"] == []
        bill = api.get(f"/api/v1/jobs/{job['id']}/bill", as_="tech.hz01.1").json
        assert [(line["kind"], line["sku"], line["quantity"], line["unit_price"], line["amount"])
                for line in bill["lines"]] == [("labour", None, 1, "80.00", "80.00"),
                                               ("part", PP, 2, "39.00", "78.00"),
                                               ("part", UF, 1, "129.00", "129.00")]
        assert (bill["total"], bill["currency"], bill["parts_covered"]) == ("287.00", "CNY", False)

    def test_nothing_above_list_price_can_be_billed(self, api, session):
        counted(api, VAN1, UF, 1)
        job = new_job(api, session, covered=False)
        on_site(api, session, job)
        fit(api, job, part_sku=UF, quantity=1)
        url = f"/api/v1/jobs/{job['id']}/bill/overrides"
        assert_problem(api.put(url, as_="manager.hz01", json={"overrides": [
            {"part_sku": UF, "unit_price": "129.01", "reason": "rush"}]}), 422, field="overrides.0.unit_price")
        assert_problem(api.put(url, as_="manager.hz01", json={"overrides": [
            {"unit_price": "80.01", "reason": "rush"}]}), 422, field="overrides.0.unit_price")
        assert_problem(api.put(url, as_="manager.hz01", json={"overrides": [
            {"part_sku": PP, "unit_price": "1", "reason": "x"}]}), 422, field="overrides.0.part_sku")
        assert_problem(api.put(url, as_="tech.hz01.1", json={"overrides": []}), 403)
        lowered = api.put(url, as_="manager.hz01", json={"overrides": [
            {"part_sku": UF, "unit_price": "60.00", "reason": "loyal customer"},
            {"unit_price": "50", "reason": "second visit"}]})
        assert lowered.status_code == 200, lowered.json
        assert lowered.json["total"] == "110.00"

        # A list price raised after fitting is not charged; a lowered one is.
        part = api.get(f"/api/v1/parts/?q={UF}", as_="admin").json[0]
        etag = api.get(f"/api/v1/parts/{part['id']}", as_="admin").headers["ETag"]
        raised = api.patch(f"/api/v1/parts/{part['id']}", as_="admin", json={"list_price": "199.00"},
                           headers={"If-Match": etag})
        assert raised.status_code == 200
        api.put(url, as_="manager.hz01", json={"overrides": []})
        assert api.get(f"/api/v1/jobs/{job['id']}/bill", as_="admin").json["total"] == "209.00"
        etag = raised.headers["ETag"]
        api.patch(f"/api/v1/parts/{part['id']}", as_="admin", json={"list_price": "55.00"}, headers={"If-Match": etag})
        assert api.get(f"/api/v1/jobs/{job['id']}/bill", as_="admin").json["total"] == "135.00"

    def test_in_warranty_covered_parts_and_labour_cost_nothing_consumables_still_do(self, api, session):
        counted(api, VAN1, VALVE, 1)
        counted(api, VAN1, PP, 1)
        job = new_job(api, session, covered=True)
        on_site(api, session, job)
        fit(api, job, lines=[{"part_sku": VALVE, "quantity": 1}, {"part_sku": PP, "quantity": 1}])
        bill = api.get(f"/api/v1/jobs/{job['id']}/bill", as_="manager.hz01").json
        assert [(line["kind"], line["sku"], line["covered"], line["amount"]) for line in bill["lines"]] == [
            ("labour", None, True, "0.00"), ("part", PP, False, "39.00"), ("part", VALVE, True, "0.00")]
        assert bill["total"] == "39.00"
        assert_problem(api.get(f"/api/v1/jobs/{job['id']}/bill", as_="manager.hz02"), 404)


class TestClaims:
    def test_a_covered_part_on_an_in_warranty_job_files_a_claim_hq_decides(self, api, session):
        counted(api, VAN1, VALVE, 1)
        job = new_job(api, session, covered=True)
        on_site(api, session, job)
        [claim] = fit(api, job, part_sku=VALVE, quantity=1).json["claims"]
        assert (claim["status"], claim["part"]["sku"], claim["amount"], claim["rejection_code"]) == (
            "submitted", VALVE, "68.00", None)
        listed = api.get(f"/api/v1/claims/?job_id={job['id']}", as_="admin").json
        assert [c["id"] for c in listed] == [claim["id"]]
        assert [c["id"] for c in api.get(f"/api/v1/claims/?job_id={job['id']}", as_="manager.hz01").json] == [
            claim["id"]]
        assert api.get(f"/api/v1/claims/?job_id={job['id']}", as_="manager.hz02").json == []
        assert_problem(api.get(f"/api/v1/claims/{claim['id']}", as_="manager.hz02"), 404)
        assert_problem(api.get("/api/v1/claims/", as_="tech.hz01.1"), 403)

        url = f"/api/v1/claims/{claim['id']}/decision"
        assert_problem(api.post(url, as_="manager.hz01", json={"approve": True}), 403)
        assert_problem(api.post(url, as_="admin", json={"approve": False}), 422, field="reason")
        assert_problem(api.post(url, as_="admin", json={"approve": True}), 409, code="defective-return-missing")
        assert api.post(f"/api/v1/claims/{claim['id']}/defective-return", as_="admin", json={}).status_code == 200
        approved = api.post(url, as_="admin", json={"approve": True})
        assert approved.status_code == 200 and approved.json["status"] == "approved"
        assert approved.json["decided_by"] == api.get("/api/v1/users/me", as_="admin").json["id"]
        assert_problem(api.post(url, as_="admin", json={"approve": False, "reason": "changed my mind"}), 409)

    def test_a_part_fitted_against_the_catalogue_by_override_files_a_claim_rejected_automatically(self, api,
                                                                                                     session):
        counted(api, VAN1, THERMOSTAT, 1)
        job = new_job(api, session, covered=True)
        on_site(api, session, job)
        [claim] = fit(api, job, as_="manager.hz01", part_sku=THERMOSTAT, quantity=1,
                      override_reason="the customer's heater is plumbed into the purifier line").json["claims"]
        assert (claim["status"], claim["rejection_code"]) == ("rejected", "part_does_not_fit")
        assert THERMOSTAT in claim["rejection_detail"] and claim["decided_by"] is None
        rejected = api.get("/api/v1/claims/?status=rejected&rejection_code=part_does_not_fit&page_size=100",
                           as_="admin").json
        assert claim["id"] in {c["id"] for c in rejected}

    def test_consumables_and_chargeable_jobs_file_no_claim(self, api, session):
        counted(api, VAN1, PP, 1)
        counted(api, VAN1, VALVE, 1)
        covered = new_job(api, session, covered=True)
        on_site(api, session, covered)
        assert fit(api, covered, part_sku=PP, quantity=1).json["claims"] == []
        chargeable = new_job(api, session, covered=False)
        on_site(api, session, chargeable, "tech.hz01.1")
        assert fit(api, chargeable, as_="manager.hz01", part_sku=VALVE, quantity=1,
                   override_reason="the customer's second purifier is an RO model").json["claims"] == []


class TestFit:
    """A part fitted on a job must fit the job's product (the catalogue says what fits)."""

    def test_a_part_that_does_not_fit_the_product_is_refused_naming_both_and_nothing_is_billed(self, api, session):
        counted(api, VAN1, ANODE, 1)
        job = new_job(api, session, covered=False)
        on_site(api, session, job)
        product = api.get(f"/api/v1/jobs/{job['id']}", as_="manager.hz01").json["product_sku"]
        problem = assert_problem(fit(api, job, part_sku=ANODE, quantity=1), 422, code="part-does-not-fit",
                                 field="lines.0.part_sku")
        assert ANODE in problem["detail"] and product in problem["detail"]
        assert (problem["part_sku"], problem["product_sku"]) == (ANODE, product)
        assert parts_of(api, job)["usages"] == []
        assert level(api, VAN1, ANODE)["on_hand"] == 1
        bill = api.get(f"/api/v1/jobs/{job['id']}/bill", as_="manager.hz01").json
        assert [line["sku"] for line in bill["lines"] if line["kind"] == "part"] == []

        mixed = fit(api, job, lines=[{"part_sku": PP, "quantity": 1}, {"part_sku": ANODE, "quantity": 1}])
        assert_problem(mixed, 422, code="part-does-not-fit", field="lines.1.part_sku")
        assert parts_of(api, job)["usages"] == []  # one misfit line refuses the whole call

    def test_only_a_manager_overrides_with_a_reason_and_the_reason_is_in_the_audit_log(self, api, session):
        counted(api, VAN1, ANODE, 1)
        job = new_job(api, session, covered=False)
        on_site(api, session, job)
        reason = "anode kept for the customer's heater, fitted on the same visit"
        assert_problem(fit(api, job, part_sku=ANODE, quantity=1, override_reason=reason), 403)
        assert_problem(fit(api, job, as_="manager.hz01", part_sku=ANODE, quantity=1, override_reason="  "), 422,
                       field="override_reason")
        overridden = fit(api, job, as_="manager.hz01", part_sku=ANODE, quantity=1, override_reason=reason)
        assert overridden.status_code == 201, overridden.json
        assert [u["part"]["sku"] for u in overridden.json["usages"]] == [ANODE]
        entry = session.scalar(select(LogEntry).where(LogEntry.kind == "stock.part_fit_override")
                               .order_by(LogEntry.seq.desc()).limit(1))
        manager = api.get("/api/v1/users/me", as_="manager.hz01").json
        assert entry is not None and str(entry.actor_id) == manager["id"]
        assert (entry.payload["reason"], entry.payload["part_sku"], entry.payload["job_id"]) == (
            reason, ANODE, job["id"])
        assert entry.payload["product_sku"] == api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["product_sku"]

    def test_a_phone_reporting_a_part_that_does_not_fit_has_that_mutation_rejected(self, api, session):
        counted(api, VAN1, ANODE, 1)
        job = new_job(api, session)
        on_site(api, session, job)
        body = api.post("/api/v1/sync/mutations", as_="tech.hz01.1", json={
            "device_id": str(uuid.uuid4()),
            "mutations": [{"id": 1, "kind": "parts_consumed",
                           "payload": {"job_id": job["id"], "lines": [{"part_sku": ANODE, "quantity": 1}]}}]}).json
        [result] = body["results"]
        assert (result["status"], result["reason"]) == ("rejected", "part-does-not-fit"), result
        assert "payload.lines.0.part_sku" in result["problem"]["errors"]
        assert parts_of(api, job)["usages"] == [] and level(api, VAN1, ANODE)["on_hand"] == 1
