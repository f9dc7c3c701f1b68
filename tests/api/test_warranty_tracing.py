"""Traceable serials through HTTP: agents and dealers as records, a serial's journey bulk-loaded as
dated events (idempotently, all or nothing), an activation by a dealer the serial was not shipped
to flagged (the fraud case "activation by the wrong dealer"), and a dealer's shipped-but-never-sold
serials listed with the free-part claims made for them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.network.models import Product
from tests.api.jobs_builders import MONDAY, units
from tests.api.test_stock_movements import counted
from tests.api.warranty_builders import VALVE, VAN1, fit, repair_on_site, warranty_hooks  # noqa: F401
from tests.helpers import assert_problem

TODAY = MONDAY.date()
MADE = TODAY - timedelta(days=200)


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield


def new_serial(api, session, n: int) -> str:
    product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
    serial = f"RO{MADE.year}{9900000 + n:07d}"
    created = api.post("/api/v1/units/", as_="admin", json={"serial": serial, "product_id": str(product.id),
                                                            "manufactured_on": MADE.isoformat()})
    assert created.status_code == 201, created.json
    return serial


def partners(api):
    api.post("/api/v1/trade-partners", as_="admin", json={"code": "AG-T", "name": "Test agency", "kind": "agent"})
    for code in ("DL-T1", "DL-T2"):
        made = api.post("/api/v1/trade-partners", as_="admin", json={
            "code": code, "name": f"Dealer {code}", "kind": "dealer", "agent_code": "AG-T"})
        assert made.status_code == 201, made.json


def shipped(serial: str, dealer: str = "DL-T1") -> list[dict]:
    return [{"serial": serial, "kind": "factory_out", "on": MADE.isoformat()},
            {"serial": serial, "kind": "to_agent", "partner_code": "AG-T", "on": (MADE + timedelta(days=5)).isoformat()},
            {"serial": serial, "kind": "to_dealer", "partner_code": dealer,
             "on": (MADE + timedelta(days=9)).isoformat(), "reference": "DN-001"}]


def load(api, events, as_="admin"):
    return api.post("/api/v1/journey-events", as_=as_, json={"events": events})


def test_agents_and_dealers_are_records_hq_keeps(api):
    partners(api)
    assert_problem(api.post("/api/v1/trade-partners", as_="manager.hz01",
                            json={"code": "DL-X", "name": "x", "kind": "dealer"}), 403)
    assert_problem(api.post("/api/v1/trade-partners", as_="admin",
                            json={"code": "DL-T1", "name": "again", "kind": "dealer"}), 409)
    assert_problem(api.post("/api/v1/trade-partners", as_="admin", json={
        "code": "DL-T3", "name": "x", "kind": "dealer", "agent_code": "DL-T1"}), 422, field="agent_code")
    dealers = api.get("/api/v1/trade-partners?kind=dealer&page_size=100", as_="reviewer").json
    assert {"DL-T1", "DL-T2"} <= {d["code"] for d in dealers} and {d["kind"] for d in dealers} == {"dealer"}


def test_a_journey_is_loaded_in_bulk_idempotently_and_read_in_order(api, session):
    partners(api)
    serial = new_serial(api, session, 1)
    events = shipped(serial) + [{"serial": serial, "kind": "activation", "partner_code": "DL-T1",
                                 "on": (MADE + timedelta(days=30)).isoformat()}]
    first = load(api, list(reversed(events)))
    assert first.status_code == 200 and (first.json["loaded"], first.json["already_known"]) == (4, 0), first.json
    assert first.json["flagged"] == []
    again = load(api, events).json
    assert (again["loaded"], again["already_known"]) == (0, 4)
    journey = api.get(f"/api/v1/units/{serial}/journey", as_="admin").json
    assert [(e["kind"], e["partner"]["code"] if e["partner"] else None) for e in journey["events"]] == [
        ("factory_out", None), ("to_agent", "AG-T"), ("to_dealer", "DL-T1"), ("activation", "DL-T1")]
    assert_problem(api.get(f"/api/v1/units/{serial}/journey", as_="manager.hz01"), 403)


def test_a_bad_event_loads_nothing_and_names_the_field(api, session):
    partners(api)
    serial = new_serial(api, session, 2)
    cases = [
        ({"serial": "RO20990009999999", "kind": "factory_out", "on": MADE.isoformat()}, "events.3.serial"),
        ({"serial": serial, "kind": "to_dealer", "partner_code": "AG-T", "on": MADE.isoformat()},
         "events.3.partner_code"),
        ({"serial": serial, "kind": "to_dealer", "partner_code": "NOBODY", "on": MADE.isoformat()},
         "events.3.partner_code"),
        ({"serial": serial, "kind": "to_dealer", "on": MADE.isoformat()}, "events.3.partner_code"),
        ({"serial": serial, "kind": "to_dealer", "partner_code": "DL-T1",
          "on": (TODAY + timedelta(days=2)).isoformat()}, "events.3.on"),
        ({"serial": serial, "kind": "to_dealer", "partner_code": "DL-T1",
          "on": (MADE - timedelta(days=1)).isoformat()}, "events.3.on"),
    ]
    for bad, field in cases:
        assert_problem(load(api, shipped(serial) + [bad]), 422, field=field)
    assert api.get(f"/api/v1/units/{serial}/journey", as_="admin").json["events"] == []
    assert_problem(load(api, shipped(serial), as_="manager.hz01"), 403)


def test_an_activation_by_a_dealer_the_serial_was_not_shipped_to_is_flagged(api, session):
    partners(api)
    serial = new_serial(api, session, 3)
    body = load(api, shipped(serial, "DL-T1") + [
        {"serial": serial, "kind": "activation", "partner_code": "DL-T2", "on": (MADE + timedelta(days=20)).isoformat()}
    ]).json
    [flagged] = body["flagged"]
    assert (flagged["serial"], flagged["flag"]) == (serial, "activated_by_other_dealer")
    assert "DL-T2" in flagged["flag_detail"] and "DL-T1" in flagged["flag_detail"]
    listed = api.get("/api/v1/journey-events/flags?dealer_code=DL-T2", as_="reviewer").json
    assert [e["serial"] for e in listed] == [serial]
    assert api.get("/api/v1/journey-events/flags?dealer_code=DL-T1", as_="reviewer").json == []
    never = new_serial(api, session, 4)  # activated by a dealer although never shipped to one
    body = load(api, [{"serial": never, "kind": "activation", "partner_code": "DL-T1", "on": TODAY.isoformat()}]).json
    assert "never shipped" in body["flagged"][0]["flag_detail"]


@pytest.mark.usefixtures("warranty_hooks")
def test_a_dealers_shipped_but_never_sold_serials_are_listed_with_their_free_part_claims(api, session):
    partners(api)
    sold, unsold, carded = (new_serial(api, session, n) for n in (5, 6, 7))
    load(api, shipped(sold) + shipped(unsold) + shipped(carded) + [
        {"serial": sold, "kind": "activation", "partner_code": "DL-T1", "on": (MADE + timedelta(days=20)).isoformat()}])
    owner = units(session, "HZ01")[0].customer  # a card made up for a unit no dealer reported sold
    card = api.post(f"/api/v1/units/{carded}/activation", as_="tech.hz01.1", json={
        "customer_id": str(owner.id), "purchased_on": (TODAY - timedelta(days=10)).isoformat(),
        "sales_channel": "retail"})
    assert card.status_code == 201, card.json
    counted(api, VAN1, VALVE, 1)
    job = repair_on_site(api, session, serial=carded)
    [claim] = fit(api, job)["claims"]

    report = api.get("/api/v1/trade-partners/DL-T1/unactivated-serials", as_="reviewer")
    assert report.status_code == 200, report.json
    rows = {s["serial"]: s for s in report.json["serials"]}
    assert set(rows) == {unsold, carded}
    assert rows[unsold]["registry_activated"] is False and rows[unsold]["claims"] == []
    assert rows[carded]["registry_activated"] is True
    assert [(c["id"], c["part_sku"]) for c in rows[carded]["claims"]] == [(claim["id"], VALVE)]
    assert report.json["claims_total"] == 1
    assert_problem(api.get("/api/v1/trade-partners/AG-T/unactivated-serials", as_="admin"), 404)
    assert_problem(api.get("/api/v1/trade-partners/DL-T1/unactivated-serials", as_="manager.hz01"), 403)
