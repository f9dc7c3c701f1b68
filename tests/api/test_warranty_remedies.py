"""Repair, replace or refund (三包) through HTTP: HQ's periods per category; a point's refund or
replace request with the fault cause and photos, refused outside the periods, for misuse, for
another cause than the repair found, with another point's photos or twice; HQ's approval closing
the old card, binding the replacement with the remaining warranty, expecting the old unit back and
telling the customer; and the suggestion raised when the same defect is repaired twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.network.models import Product, Unit
from tests.api import warranty_builders as wb
from tests.api.jobs_builders import MONDAY, move
from tests.api.sop_builders import photo_ids
from tests.api.test_stock_jobs import unit_serial
from tests.api.test_warranty_kpis import kpis
from tests.api.warranty_builders import warranty_desk  # noqa: F401 (fixture)
from tests.helpers import assert_problem

pytestmark = pytest.mark.usefixtures("warranty_desk")

TODAY = MONDAY.date()
MADE = TODAY - timedelta(days=200)
REQUESTS = "/api/v1/remedy-requests"


def new_unit(api, session, n: int, *, bought_days_ago: int | None = None, sku: str = "WP-RO500", made=MADE) -> str:
    """A new unit of the model; bought (activated to an HZ01 customer) that many days ago, if given."""
    product = session.scalar(select(Product).where(Product.sku == sku))
    serial = f"RO{made.year}{9800000 + n:07d}"
    created = api.post("/api/v1/units/", as_="admin", json={"serial": serial, "product_id": str(product.id),
                                                            "manufactured_on": made.isoformat()})
    assert created.status_code == 201, created.json
    if bought_days_ago is not None:
        owner = session.scalar(select(Unit.customer_id).where(Unit.serial == unit_serial(session, covered=True)))
        activated = api.post(f"/api/v1/units/{serial}/activation", as_="admin", json={
            "customer_id": str(owner), "sales_channel": "retail",
            "purchased_on": (TODAY - timedelta(days=bought_days_ago)).isoformat()})
        assert activated.status_code == 201, activated.json
    return serial


def repaired(api, session, serial: str, cause: str = wb.DEFECT) -> dict:
    job = wb.repair_on_site(api, session, serial=serial)
    assert wb.set_cause(api, job, cause).status_code == 200
    return job


def file(api, job, kind="replace", cause=wb.DEFECT, photos=None, as_=wb.TECH):
    return api.post(REQUESTS, as_=as_, json={"job_id": job["id"], "kind": kind, "fault_cause_code": cause,
                                             "evidence": photos if photos is not None else photo_ids(api, 2),
                                             "note": "membrane housing split on day 3"})


def decide(api, request, as_="admin", **body):
    return api.post(f"{REQUESTS}/{request['id']}/decision", as_=as_, json=body)


def warranty(api, serial) -> dict:
    body = api.get(f"/api/v1/units/{serial}/warranty", as_="admin").json
    return {"status": body["coverage"]["status"], "warranty_until": body["warranty_until"]}


def test_a_replacement_within_the_period_binds_a_new_unit_with_the_remaining_warranty(api, session):
    old = new_unit(api, session, 1, bought_days_ago=10)
    spare, heater = new_unit(api, session, 2), new_unit(api, session, 3, sku="WP-RO800")
    job = repaired(api, session, old)
    assert_problem(file(api, job, kind="refund"), 409, code="outside-statutory-period")  # 10 days > 7
    filed = file(api, job)
    assert filed.status_code == 201, filed.json
    request = filed.json
    assert (request["status"], request["grounds"], request["days_since_purchase"]) == ("pending", "replace_period", 10)
    assert len(request["evidence"]) == 2 and request["fault_cause"]["code"] == wb.DEFECT
    assert_problem(file(api, job), 409)  # one request waiting per unit
    assert_problem(api.get(f"{REQUESTS}/{request['id']}", as_="manager.nb01"), 404)
    assert api.get(f"{REQUESTS}/{request['id']}", as_=wb.MANAGER).status_code == 200
    assert_problem(decide(api, request, as_=wb.MANAGER, approve=True, replacement_serial=spare), 403)
    assert_problem(decide(api, request, approve=True), 422, field="replacement_serial")
    assert_problem(decide(api, request, approve=True, replacement_serial=heater), 422, field="replacement_serial")
    assert_problem(decide(api, request, approve=True, replacement_serial=old), 422, field="replacement_serial")
    until = warranty(api, old)["warranty_until"]

    approved = decide(api, request, approve=True, replacement_serial=spare)
    assert approved.status_code == 200, approved.json
    assert (approved.json["status"], approved.json["replacement_serial"]) == ("approved", spare)
    assert warranty(api, old)["status"] == "closed"
    assert (warranty(api, spare)["status"], warranty(api, spare)["warranty_until"]) == ("in_warranty", until)
    new_card = api.get(f"/api/v1/units/{spare}", as_="admin").json
    assert new_card["customer"]["id"] == api.get(f"/api/v1/units/{old}", as_="admin").json["customer"]["id"]
    assert_problem(decide(api, request, approve=True, replacement_serial=spare), 409)

    [back] = [r for r in api.get("/api/v1/unit-returns?status=expected&page_size=100", as_=wb.MANAGER).json
              if r["serial"] == old]
    assert back["id"] == approved.json["unit_return_id"]
    receipt = f"/api/v1/unit-returns/{back['id']}/receipt"
    assert_problem(api.post(receipt, as_=wb.MANAGER, json={}), 403)
    received = api.post(receipt, as_="admin", json={"note": "housing split, as photographed"})
    assert received.status_code == 200 and received.json["status"] == "received", received.json
    assert_problem(api.post(receipt, as_="admin", json={}), 409)  # received once
    told = api.get(f"/api/v1/notifications?template=remedy_decided&job_id={job['id']}", as_="admin").json
    assert [(m["channel"], m["payload"]["replacement_serial"]) for m in told] == [("sms", spare)]
    # the old unit's card covers nothing any more: a new request for it is refused
    assert_problem(file(api, repaired(api, session, old)), 409, code="remedy-not-covered")


def test_a_refund_within_seven_days_closes_the_card_without_a_replacement_and_counts_in_the_kpis(api, session):
    before = kpis(api, as_=wb.MANAGER, days=0).json["remedies"]
    old = new_unit(api, session, 11, bought_days_ago=3)
    request = file(api, repaired(api, session, old), kind="refund", as_=wb.MANAGER).json
    assert kpis(api, as_=wb.MANAGER, days=0).json["remedies"]["pending"] == before["pending"] + 1
    assert (request["kind"], request["grounds"]) == ("refund", "refund_period")
    spare = new_unit(api, session, 12)
    assert_problem(decide(api, request, approve=True, replacement_serial=spare), 422, field="replacement_serial")
    approved = decide(api, request, approve=True, reason="refunded at the counter")
    assert approved.status_code == 200 and approved.json["replacement_serial"] is None, approved.json
    assert warranty(api, old)["status"] == "closed" and warranty(api, spare)["status"] == "not_activated"
    after = kpis(api, as_=wb.MANAGER, days=0).json
    assert (after["remedies"]["refunded"], after["remedies"]["requested"]) == (before["refunded"] + 1,
                                                                               before["requested"] + 1)
    assert {o["key"] for o in after["remedies_by_point"]} == {"HZ01"}


def test_misuse_another_cause_foreign_photos_and_an_old_unit_are_refused(api, session):
    fresh = new_unit(api, session, 21, bought_days_ago=2)
    misused = repaired(api, session, fresh, cause=wb.MISUSE)
    assert_problem(file(api, misused, kind="refund", cause=wb.MISUSE), 409, code="remedy-not-covered")
    assert_problem(file(api, misused, kind="refund"), 422, field="fault_cause_code")  # the repair found misuse
    job = repaired(api, session, new_unit(api, session, 22, bought_days_ago=2))
    assert_problem(file(api, job, photos=photo_ids(api, 1, as_="tech.nb01.1")), 422, field="evidence.0")
    assert_problem(file(api, job, photos=[]), 422, field="evidence")
    assert_problem(file(api, job, cause=wb.HEATER_DEFECT), 422, field="fault_cause_code")
    assert_problem(file(api, job, as_="tech.nb01.1"), 404)  # another point's job
    assert_problem(file(api, job, as_="tech.hz01.2"), 404)  # a colleague: not his job
    old = repaired(api, session, new_unit(api, session, 23, bought_days_ago=40))
    assert_problem(file(api, old), 409, code="outside-statutory-period")
    request = file(api, job).json
    assert_problem(decide(api, request, approve=False), 422, field="reason")
    rejected = decide(api, request, approve=False, reason="the photos show impact damage")
    assert rejected.json["status"] == "rejected" and warranty(api, rejected.json["serial"])["status"] == "in_warranty"
    pending = api.get(f"{REQUESTS}?status=pending&page_size=100", as_=wb.MANAGER).json
    assert request["id"] not in {r["id"] for r in pending}


def test_hq_sets_the_periods_per_category(api, session):
    listed = {p["category"]: p for p in api.get("/api/v1/statutory-periods", as_=wb.TECH).json}
    assert set(listed) == {"water_purifier", "water_heater"}
    url = "/api/v1/statutory-periods/water_purifier"
    assert_problem(api.put(url, as_=wb.MANAGER, json={"refund_days": 3, "replace_days": 5}), 403)
    assert_problem(api.put(url, as_="admin", json={"refund_days": 9, "replace_days": 5}), 422, field="replace_days")
    assert_problem(api.put("/api/v1/statutory-periods/toaster", as_="admin",
                           json={"refund_days": 3, "replace_days": 5}), 404)
    changed = api.put(url, as_="admin", json={"refund_days": 3, "replace_days": 5})
    assert changed.status_code == 200 and changed.json["replace_days"] == 5, changed.json
    job = repaired(api, session, new_unit(api, session, 31, bought_days_ago=6))
    assert_problem(file(api, job), 409, code="outside-statutory-period")  # 6 days > 5 now


def test_the_same_defect_repaired_twice_suggests_a_replacement_after_the_period(api, session):
    serial = new_unit(api, session, 41, bought_days_ago=100)
    first = repaired(api, session, serial)
    assert move(api, first, "completed", as_=wb.TECH).status_code == 200
    other = repaired(api, session, serial, cause="WP-PMP-NOISE")  # another fault: no suggestion
    suggestions = "/api/v1/replacement-suggestions?page_size=100"
    assert serial not in {s["serial"] for s in api.get(suggestions, as_="admin").json}
    assert_problem(file(api, other, cause="WP-PMP-NOISE"), 409, code="outside-statutory-period")
    assert wb.set_cause(api, other, wb.DEFECT).status_code == 200  # corrected: the valve again
    [suggested] = [s for s in api.get(suggestions, as_=wb.MANAGER).json if s["serial"] == serial]
    assert (suggested["first_job_id"], suggested["second_job_id"]) == (first["id"], other["id"])
    assert suggested["fault_cause"]["code"] == wb.DEFECT
    hq = api.get("/api/v1/notifications?template=replacement_suggested&page_size=100", as_="admin").json
    assert any(m["payload"]["serial"] == serial and m["channel"] == "push" for m in hq)
    assert_problem(file(api, other, kind="refund"), 409, code="outside-statutory-period")
    filed = file(api, other)
    assert filed.status_code == 201 and filed.json["grounds"] == "repeat_fault", filed.json
