"""Units and warranty cards through HTTP: serial format, activation once, HQ re-binding with
history, the warranty answer, and masking of the owner's data for technicians of other points."""

from __future__ import annotations

import re
from datetime import timedelta

from dispatch import clock
from dispatch.network.units import SERIAL_PATTERN
from tests.helpers import assert_problem

BUYER = {"name": "Qian Hong", "phone": "13911112222", "address": "18 Wensan Rd, ZJ-HZ-XH",
         "location": {"lat": 30.27, "lon": 120.12}}


def product(api, sku):
    return api.get(f"/api/v1/products/?sku={sku}", as_="admin").json[0]


def register(api, serial="RO20250990001", sku="WP-RO500", manufactured_on="2025-03-01"):
    created = api.post("/api/v1/units/", as_="admin", json={
        "serial": serial, "product_id": product(api, sku)["id"], "manufactured_on": manufactured_on})
    assert created.status_code == 201, created.json
    assert created.json["activated"] is False and created.json["customer"] is None
    return created.json


def activate(api, serial, as_="tech.hz01.1", **body):
    payload = {"customer": BUYER, "purchased_on": "2026-01-15", "sales_channel": "retail"} | body
    return api.post(f"/api/v1/units/{serial}/activation", as_=as_, json=payload)


def test_a_technician_activates_a_unit_once_and_the_warranty_starts_at_purchase(api):
    register(api)
    activated = activate(api, "RO20250990001")
    assert activated.status_code == 201, activated.json
    unit = activated.json
    assert unit["activated"] is True and unit["purchased_on"] == "2026-01-15"
    assert unit["customer"]["name"] == "Qian Hong" and unit["customer"]["masked"] is False
    assert unit["customer"]["service_point_id"] == api.get("/api/v1/users/me", as_="tech.hz01.1").json[
        "service_point_id"]
    assert len(unit["activations"]) == 1 and unit["activations"][0]["superseded_at"] is None

    second = activate(api, "RO20250990001", as_="manager.hz01", purchased_on="2026-02-01")
    body = assert_problem(second, 409)
    assert "only HQ can re-bind" in body["detail"]
    assert_problem(activate(api, "RO20250990001", as_="admin"), 409)

    warranty = api.get("/api/v1/units/RO20250990001/warranty?on=2026-06-01", as_="tech.nb02.1")
    assert warranty.status_code == 200
    assert warranty.json["in_warranty"] is True and warranty.json["warranty_until"] == "2028-01-14"  # 24 months
    assert warranty.json["coverage"] == {"status": "in_warranty", "labour": True, "parts": True,
                                         "category": "water_purifier"}
    last_day = api.get("/api/v1/units/RO20250990001/warranty?on=2028-01-14", as_="admin").json
    assert last_day["in_warranty"] is True
    expired = api.get("/api/v1/units/RO20250990001/warranty?on=2028-01-15", as_="admin").json
    assert expired["in_warranty"] is False and expired["coverage"]["labour"] is False
    assert expired["coverage"]["status"] == "expired"
    before = api.get("/api/v1/units/RO20250990001/warranty?on=2026-01-14", as_="admin").json
    assert before["in_warranty"] is False and before["coverage"]["status"] == "not_started"


def test_activation_input_rules(api):
    register(api, manufactured_on="2025-03-01")
    assert_problem(activate(api, "RO20259999999"), 404)
    assert_problem(activate(api, "not-a-serial"), 422, field="serial")
    assert_problem(activate(api, "RO20250990001", purchased_on="2100-01-01"), 422, field="purchased_on")
    body = assert_problem(activate(api, "RO20250990001", purchased_on="2025-02-28"), 422, field="purchased_on")
    assert "2025-03-01" in body["errors"]["purchased_on"][0]
    assert_problem(activate(api, "RO20250990001", sales_channel="black_market"), 422, field="sales_channel")
    neither = {"purchased_on": "2026-01-15", "sales_channel": "retail"}
    assert_problem(api.post("/api/v1/units/RO20250990001/activation", as_="tech.hz01.1", json=neither), 422,
                   field="customer_id")
    assert_problem(activate(api, "RO20250990001", as_="reviewer"), 403)
    unknown = {"customer_id": "00000000-0000-0000-0000-00000000beef", "purchased_on": "2026-01-15",
               "sales_channel": "online"}
    assert_problem(api.post("/api/v1/units/RO20250990001/activation", as_="tech.hz01.1", json=unknown), 422,
                   field="customer_id")
    assert api.get("/api/v1/units/RO20250990001", as_="admin").json["activated"] is False


def test_an_unactivated_unit_has_no_warranty(api):
    register(api)
    answer = api.get("/api/v1/units/RO20250990001/warranty", as_="tech.sz01.1").json
    assert answer["in_warranty"] is False and answer["warranty_until"] is None
    assert answer["coverage"]["status"] == "not_activated"
    assert_problem(api.get("/api/v1/units/RO20259999999/warranty", as_="tech.sz01.1"), 404)


def test_only_an_admin_rebinds_with_a_reason_and_the_old_card_stays_in_history(api):
    register(api)
    first = activate(api, "RO20250990001").json
    first_owner = first["customer"]["id"]
    new_owner = {"name": "Feng Yi", "phone": "13722223333", "address": "9 Jiefang Rd, ZJ-HZ-SC"}
    assert_problem(api.put("/api/v1/units/RO20250990001/activation", as_="manager.hz01",
                           json={"customer": new_owner, "reason": "sold the flat"}), 403)
    assert_problem(api.put("/api/v1/units/RO20250990001/activation", as_="admin", json={"customer": new_owner}),
                   422, field="reason")
    with clock.frozen(clock.utcnow() + timedelta(minutes=5)):  # re-bound later than the first card
        rebound = api.put("/api/v1/units/RO20250990001/activation", as_="admin",
                          json={"customer": new_owner, "reason": "flat sold with the purifier installed"})
    assert rebound.status_code == 200, rebound.json
    unit = rebound.json
    assert unit["customer"]["name"] == "Feng Yi" and unit["purchased_on"] == "2026-01-15"
    old, new = unit["activations"]
    assert old["customer_id"] == first_owner and old["superseded_at"] is not None
    assert new["reason"] == "flat sold with the purifier installed" and new["superseded_at"] is None
    assert new["actor_id"] == api.get("/api/v1/users/me", as_="admin").json["id"]
    register(api, serial="EH20250990002", sku="WH-EH60")
    assert_problem(api.put("/api/v1/units/EH20250990002/activation", as_="admin",
                           json={"customer_id": first_owner, "reason": "no card yet"}), 409)


def test_registering_units_checks_the_serial_and_manufacture_date(api):
    ro500 = product(api, "WP-RO500")["id"]

    def post(as_="admin", **body):
        return api.post("/api/v1/units/", as_=as_, json={"product_id": ro500, "manufactured_on": "2025-03-01"} | body)

    assert_problem(post(serial="ro2025"), 422, field="serial")
    assert_problem(post(serial="RO20240990001"), 422, field="manufactured_on")  # the serial says 2024
    assert_problem(post(serial="RO20990990001", manufactured_on="2099-01-01"), 422, field="manufactured_on")
    demo = api.get("/api/v1/units/?manufactured_year=2025&page_size=1", as_="admin").json[0]
    assert_problem(post(serial=demo["serial"], product_id=demo["product"]["id"],
                        manufactured_on=demo["manufactured_on"]), 409)
    assert_problem(post(serial="RO20250990001", as_="manager.hz01"), 403)
    assert_problem(post(serial="RO20250990001", product_id="00000000-0000-0000-0000-00000000beef"), 422,
                   field="product_id")


def test_every_demo_serial_matches_the_format_and_every_demo_card_is_plausible(api):
    units, page = [], 1
    while True:
        batch = api.get(f"/api/v1/units/?page={page}&page_size=100", as_="admin").json
        units += batch
        if len(batch) < 100:
            break
        page += 1
    units = [u for u in units if not u["serial"].endswith(("9000001", "9000002"))]  # the customer demo's
    assert len(units) == 300
    for unit in units:
        match = SERIAL_PATTERN.match(unit["serial"])
        assert match and int(match["year"]) == int(unit["manufactured_on"][:4]), unit["serial"]
        if unit["activated"]:
            assert unit["manufactured_on"] <= unit["purchased_on"], unit["serial"]
    activated = sum(u["activated"] for u in units)
    assert activated >= 150  # half the demo units come with a warranty card (the jobs demo may add more)
    unactivated = api.get("/api/v1/units/?activated=false&page_size=1", as_="admin")
    assert f'"total": {301 - activated}' in unactivated.headers["X-Pagination"]


def test_a_technician_of_another_point_scans_a_unit_and_sees_the_owner_masked(api):
    register(api)
    activate(api, "RO20250990001", as_="tech.hz01.1")
    foreign = api.get("/api/v1/units/RO20250990001", as_="tech.nb01.2")
    assert foreign.status_code == 200
    owner = foreign.json["customer"]
    assert owner["masked"] is True and owner["phone"] == "139****2222" and owner["name"] == "Qian *"
    assert owner["location"] is None and not re.search(r"\d", owner["address"])
    own = api.get("/api/v1/units/RO20250990001", as_="tech.hz01.2").json["customer"]
    assert own["masked"] is False and own["phone"] == "13911112222" and own["location"] == {"lat": 30.27,
                                                                                             "lon": 120.12}
    assert api.get("/api/v1/units/ro20250990001", as_="tech.hz01.2").json["serial"] == "RO20250990001"
    assert api.get("/api/v1/units/RO20250990001", as_="admin").json["customer"]["masked"] is False
    assert api.get("/api/v1/units/RO20250990001", as_="reviewer").json["customer"]["masked"] is True


def test_units_carry_an_etag_and_patch_honours_if_match(api):
    register(api)
    path = "/api/v1/units/RO20250990001"
    etag = api.get(path, as_="admin").headers["ETag"]
    assert api.get(path, as_="admin", headers={"If-None-Match": etag}).status_code == 304
    assert_problem(api.patch(path, as_="admin", json={"manufactured_on": "2025-04-01"},
                             headers={"If-Match": '"old"'}), 412)
    fixed = api.patch(path, as_="admin", json={"manufactured_on": "2025-04-01"}, headers={"If-Match": etag})
    assert fixed.status_code == 200 and fixed.json["manufactured_on"] == "2025-04-01"
    assert_problem(api.patch(path, as_="admin", json={"manufactured_on": "2024-04-01"},
                             headers={"If-Match": fixed.headers["ETag"]}), 422, field="manufactured_on")
