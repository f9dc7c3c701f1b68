"""Service contracts through HTTP: an annual service package (包年) with its visits and parts, whose jobs
are billed to the contract (never to the customer for what is included) and whose rhythm the unit's
maintenance plan follows; an extended warranty paying repairs after the factory warranty, but not
misuse; overlapping or late sales refused; expiry reminders through the outbox, once each."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from zoneinfo import ZoneInfo

from dispatch import clock
from dispatch.care import maintenance
from dispatch.jobs import hooks
from dispatch.network.models import Unit
from dispatch.network.rules import add_months
from dispatch.warranty.job_hooks import bill_jobs_under_contract
from tests.api import warranty_builders as wb
from tests.api.jobs_builders import MONDAY, local, move
from tests.api.test_stock_jobs import unit_serial
from tests.api.test_stock_movements import counted
from tests.api.test_warranty_remedies import new_unit
from tests.api.warranty_builders import warranty_desk  # noqa: F401 (fixture)
from tests.helpers import assert_problem

TODAY = MONDAY.date()
CONTRACTS = "/api/v1/service-contracts"
PP = "FLT-PP-S1"


@pytest.fixture(autouse=True)
def contract_desk(warranty_desk, monkeypatch):
    monkeypatch.setattr(hooks, "_after", [*hooks._after, bill_jobs_under_contract])


def sell(api, serial, as_=wb.MANAGER, **body):
    return api.post(CONTRACTS, as_=as_, json={"serial": serial, "kind": "annual_service", "price": "360.00"} | body)


def bill(api, job) -> dict:
    response = api.get(f"/api/v1/jobs/{job['id']}/bill", as_=wb.MANAGER)
    assert response.status_code == 200, response.json
    return response.json


def paid_by(body: dict) -> list[tuple[str, str | None, int, str]]:
    return [(line["paid_by"].split(" ")[0], line["sku"], line["quantity"], line["amount"]) for line in body["lines"]]


def done(api, job):
    assert wb.set_cause(api, job, wb.DEFECT).status_code == 200
    assert move(api, job, "completed", as_=wb.TECH).status_code == 200


def test_an_annual_package_pays_its_visits_and_parts_and_sets_the_maintenance_rhythm(api, session):
    serial, _ = expired_unit(api, session, 41, days_since_warranty=100)  # the customer would pay it all
    package = {"included_visits": 2, "parts": [{"part_sku": PP, "quantity": 2}]}
    assert_problem(sell(api, serial, as_=wb.TECH, **package), 403)
    assert_problem(sell(api, serial, included_visits=0), 422, field="included_visits")
    sold = sell(api, serial, **package)
    assert sold.status_code == 201, sold.json
    contract = sold.json
    assert (contract["starts_on"], contract["ends_on"]) == (str(TODAY), str(add_months(TODAY, 12) - timedelta(days=1)))
    assert_problem(sell(api, serial, **package), 409)  # one package at a time
    assert_problem(api.get(f"{CONTRACTS}/{contract['id']}", as_="manager.nb01"), 404)
    unit_id = session.scalar(select(Unit.id).where(Unit.serial == serial))
    [plan] = api.get(f"/api/v1/maintenance-plans?unit_id={unit_id}", as_="admin").json
    assert plan["interval_days"] == 182 and plan["next_due_on"] >= str(TODAY)

    counted(api, wb.VAN1, PP, 5)
    first = wb.repair_on_site(api, session, serial=serial)
    wb.fit(api, first, PP, 3)
    assert paid_by(bill(api, first)) == [("contract", None, 1, "0.00"), ("contract", PP, 2, "0.00"),
                                         ("customer", PP, 1, "39.00")]
    done(api, first)
    used = api.get(f"{CONTRACTS}/{contract['id']}", as_=wb.MANAGER).json
    assert (used["visits_used"], used["parts"][0]["used"]) == (1, 2)

    second = wb.repair_on_site(api, session, serial=serial)
    wb.fit(api, second, PP, 1)
    assert paid_by(bill(api, second)) == [("contract", None, 1, "0.00"), ("customer", PP, 1, "39.00")]
    done(api, second)
    third = wb.repair_on_site(api, session, serial=serial)  # both visits used: the customer pays the labour
    assert paid_by(bill(api, third))[0] == ("customer", None, 1, "80.00")
    assert api.get(f"{CONTRACTS}/{contract['id']}", as_="admin").json["visits_used"] == 2


def expired_unit(api, session, n: int, days_since_warranty: int) -> tuple[str, str]:
    """A new RO-500 whose 24-month factory warranty ended that many days ago, and its last day."""
    bought = add_months(TODAY - timedelta(days=days_since_warranty), -24)
    serial = new_unit(api, session, n, made=bought - timedelta(days=30))
    owner = session.scalar(select(Unit.customer_id).where(Unit.serial == unit_serial(session, covered=True)))
    body = {"customer_id": str(owner), "sales_channel": "retail", "purchased_on": bought.isoformat()}
    assert api.post(f"/api/v1/units/{serial}/activation", as_="admin", json=body).status_code == 201
    return serial, api.get(f"/api/v1/units/{serial}/warranty", as_="admin").json["warranty_until"]


def test_an_extended_warranty_pays_repairs_after_the_factory_warranty_but_not_misuse(api, session):
    serial, until = expired_unit(api, session, 51, days_since_warranty=10)
    assert_problem(sell(api, serial, kind="extended_warranty", months=48), 422, field="months")
    assert_problem(sell(api, serial, kind="extended_warranty", included_visits=2), 422, field="parts")
    sold = sell(api, serial, kind="extended_warranty", months=24, price="299.00")
    assert sold.status_code == 201 and sold.json["starts_on"] > until, sold.json
    late, _ = expired_unit(api, session, 52, days_since_warranty=45)
    assert_problem(sell(api, late, kind="extended_warranty", months=12), 409)

    counted(api, wb.VAN1, wb.VALVE, 2)
    repair = wb.repair_on_site(api, session, serial=serial)
    wb.fit(api, repair, wb.VALVE, 1)
    assert [line[0] for line in paid_by(bill(api, repair))] == ["contract", "contract"]
    assert bill(api, repair)["total"] == "0.00"
    misused = wb.repair_on_site(api, session, serial=serial)
    wb.fit(api, misused, wb.VALVE, 1)
    assert wb.set_cause(api, misused, wb.MISUSE).status_code == 200  # misuse: the customer pays after all
    assert {line[0] for line in paid_by(bill(api, misused))} == {"customer"}
    assert float(bill(api, misused)["total"]) > 0


def test_customers_are_reminded_once_before_a_contract_ends(api, session):
    serial, until = expired_unit(api, session, 61, days_since_warranty=1)
    contract = sell(api, serial, kind="extended_warranty", months=12, price="199.00").json
    assert_problem(api.post(f"{CONTRACTS}/reminders", as_=wb.MANAGER, json={}), 403)
    assert_problem(api.post(f"{CONTRACTS}/reminders", as_="admin", json={"days_ahead": 0}), 422, field="days_ahead")
    queued = api.post(f"{CONTRACTS}/reminders", as_="admin", json={"days_ahead": 30})
    assert queued.status_code == 202, queued.json
    assert api.get(f"{CONTRACTS}/{contract['id']}", as_="admin").json["reminded_on"] is None  # a year away
    ends = add_months(TODAY, 12)
    with clock.frozen(local(ends - timedelta(days=20), 9)):
        api._tokens.clear()  # a year on: everyone signs in again
        for _ in range(2):  # the second run reminds nobody again
            assert api.post(f"{CONTRACTS}/reminders", as_="admin", json={"days_ahead": 30}).status_code == 202
        shown = api.get(f"{CONTRACTS}/{contract['id']}", as_="admin").json
        messages = api.get("/api/v1/notifications?template=contract_expiring&page_size=100", as_="admin").json
    api._tokens.clear()
    assert shown["reminded_on"] == str(ends - timedelta(days=20))
    mine = [m for m in messages if m["payload"]["reference"] == contract["reference"]]
    assert [(m["channel"], m["payload"]["serial"]) for m in mine] == [("sms", serial)]


@pytest.mark.parametrize("kind", ["replace", "refund"])
def test_a_unit_replaced_or_refunded_under_sanbao_takes_its_contract_and_plan_along_or_ends_them(api, session, uow_factory,
                                                                                                kind):
    """What the customer bought for the old unit follows the replacement (contract and the maintenance
    plan's rhythm and due date); a refund cancels the contract and pauses the plan."""
    from tests.api.test_warranty_remedies import decide, file, repaired

    old = new_unit(api, session, 61 if kind == "replace" else 62, bought_days_ago=5)
    contract = sell(api, old, included_visits=2).json
    old_id = session.scalar(select(Unit.id).where(Unit.serial == old))
    [plan] = api.get(f"/api/v1/maintenance-plans?unit_id={old_id}", as_="admin").json
    request = file(api, repaired(api, session, old), kind=kind, as_=wb.MANAGER).json
    body = {"replacement_serial": new_unit(api, session, 63 if kind == "replace" else 64)} if kind == "replace" else {}
    approved = decide(api, request, approve=True, reason="under 三包", **body)
    assert approved.status_code == 200, approved.json

    after = api.get(f"{CONTRACTS}/{contract['id']}", as_=wb.MANAGER).json
    moved = api.get(f"/api/v1/maintenance-plans/{plan['id']}", as_="admin").json
    if kind == "replace":
        spare = body["replacement_serial"]
        assert (after["status"], after["serial"], after["visits_used"]) == ("active", spare, contract["visits_used"])
        assert [c["reference"] for c in api.get(f"{CONTRACTS}?serial={spare}", as_=wb.MANAGER).json] == [
            contract["reference"]]
        assert (moved["unit_serial"], moved["active"], moved["next_due_on"], moved["interval_days"]) == (
            spare, True, plan["next_due_on"], plan["interval_days"])
        assert api.get(f"{CONTRACTS}?serial={old}", as_=wb.MANAGER).json == []
    else:
        assert (after["status"], after["serial"]) == ("cancelled", old)
        assert (moved["unit_serial"], moved["active"]) == (old, False)
    # the nightly plan sync does not give the closed unit a new plan
    assert maintenance.sync_plans(uow_factory(), today=TODAY, tz=ZoneInfo("Asia/Shanghai"))["created"] == 0
    assert len(api.get(f"/api/v1/maintenance-plans?unit_id={old_id}", as_="admin").json) == (
        0 if kind == "replace" else 1)


def test_a_package_cancelled_midway_owes_back_the_unused_share_and_gives_the_unit_back_its_models_rhythm(api, session):
    """Cancelled after 73 days with one of two visits used: the refund is the smaller unused share (half the
    visits, not four fifths of the year), rounded down; the customer is texted; the plan goes back to the
    model's rhythm; later jobs are billed to the customer; a visit still open under it blocks the cancellation."""
    serial, _ = expired_unit(api, session, 71, days_since_warranty=100)
    contract = sell(api, serial, included_visits=2, price="365.00").json
    unit_id = session.scalar(select(Unit.id).where(Unit.serial == serial))
    first = wb.repair_on_site(api, session, serial=serial)
    url = f"{CONTRACTS}/{contract['id']}/cancellation"
    assert_problem(api.post(url, as_=wb.MANAGER, json={"reason": "moving away"}), 409)  # its visit is open
    done(api, first)

    assert_problem(api.post(url, as_=wb.TECH, json={"reason": "moving away"}), 403)
    assert_problem(api.post(url, as_="manager.nb01", json={"reason": "moving away"}), 404)
    assert_problem(api.post(url, as_=wb.MANAGER, json={"reason": " "}), 422, field="reason")
    assert_problem(api.post(url, as_=wb.MANAGER, json={}), 422, field="reason")
    with clock.frozen(clock.utcnow() + timedelta(days=73)):
        api._tokens.clear()  # 73 days on: everyone signs in again
        cancelled = api.post(url, as_=wb.MANAGER, json={"reason": "moving away"})
        assert cancelled.status_code == 200, cancelled.json
        body = cancelled.json
        days = (date.fromisoformat(contract["ends_on"]) - date.fromisoformat(contract["starts_on"])).days + 1
        left = (date.fromisoformat(contract["ends_on"]) - date.fromisoformat(body["cancelled_on"])).days
        assert left / days > 0.5  # the time left is worth more than the visit left: the visits decide
        assert (body["status"], body["refund"], body["cancel_reason"]) == ("cancelled", "182.50", "moving away")
        assert_problem(api.post(url, as_=wb.MANAGER, json={"reason": "again"}), 409)
        told = api.get(f"/api/v1/notifications?template=contract_cancelled&page_size=100", as_="admin").json
        assert [(m["payload"]["reference"], m["payload"]["refund"]) for m in told] == [(contract["reference"], "182.50")]
        [plan] = api.get(f"/api/v1/maintenance-plans?unit_id={unit_id}", as_="admin").json
        assert plan["interval_days"] != 182 and plan["active"]  # the model's own rhythm again
    api._tokens.clear()
    later = wb.repair_on_site(api, session, serial=serial)  # no longer billed to the contract
    assert paid_by(bill(api, later))[0][0] == "customer"
