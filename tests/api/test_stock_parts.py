"""The parts catalogue and the labour rate table through the HTTP API."""

from __future__ import annotations

from tests.helpers import assert_problem

NEW_PART = {"sku": "MEM-RO-100G", "name": "RO membrane 100 GPD", "list_price": "349.00",
            "compatible_products": ["WP-RO500", "WP-RO800"], "warranty_covered": True}


def test_everyone_signed_in_reads_the_catalogue_with_list_prices(api):
    response = api.get("/api/v1/parts/?q=cartridge&page_size=50", as_="tech.hz01.1")
    assert response.status_code == 200
    by_sku = {p["sku"]: p for p in response.json}
    assert by_sku["FLT-PP-S1"]["list_price"] == "39.00" and by_sku["FLT-PP-S1"]["currency"] == "CNY"
    assert by_sku["FLT-PP-S1"]["is_consumable"] is True and by_sku["FLT-PP-S1"]["warranty_covered"] is False
    assert set(by_sku["FLT-PP-S1"]["compatible_products"]) == {"WP-RO500", "WP-RO800", "WP-UF300"}


def test_parts_are_found_by_the_model_they_fit(api):
    skus = {p["sku"] for p in api.get("/api/v1/parts/?product_sku=WH-EH60&page_size=50", as_="admin").json}
    assert {"HTR-EL-2000", "ANO-MG-EH", "THS-EH"} <= skus
    assert "FLT-PP-S1" not in skus
    consumables = api.get("/api/v1/parts/?product_sku=WH-EH60&is_consumable=true&page_size=50", as_="admin").json
    assert [p["sku"] for p in consumables] == ["ANO-MG-EH"]


def test_hq_adds_a_part_and_nobody_else_may(api):
    created = api.post("/api/v1/parts/", as_="admin", json=NEW_PART)
    assert created.status_code == 201, created.json
    assert created.json["list_price"] == "349.00" and created.json["compatible_products"] == ["WP-RO500", "WP-RO800"]
    assert created.headers["Location"].endswith(f"/api/v1/parts/{created.json['id']}")
    assert_problem(api.post("/api/v1/parts/", as_="admin", json=NEW_PART), 409)
    assert_problem(api.post("/api/v1/parts/", as_="manager.hz01", json=NEW_PART | {"sku": "X-1"}), 403)


def test_a_new_part_is_validated_field_by_field(api):
    assert_problem(api.post("/api/v1/parts/", as_="admin", json=NEW_PART | {"list_price": "-1"}), 422,
                   field="list_price")
    assert_problem(api.post("/api/v1/parts/", as_="admin", json=NEW_PART | {"sku": "bad sku"}), 422, field="sku")
    assert_problem(api.post("/api/v1/parts/", as_="admin", json=NEW_PART | {"compatible_products": ["NOPE"]}), 422,
                   field="compatible_products")
    assert_problem(api.post("/api/v1/parts/", as_="admin", json=NEW_PART | {"currency": "USD"}), 422,
                   field="currency")


def test_changing_a_part_needs_if_match(api):
    part = api.post("/api/v1/parts/", as_="admin", json=NEW_PART).json
    url = f"/api/v1/parts/{part['id']}"
    etag = api.get(url, as_="admin").headers["ETag"]
    assert api.patch(url, as_="admin", json={"list_price": "329.00"}).status_code == 428
    changed = api.patch(url, as_="admin", json={"list_price": "329.00", "compatible_products": ["WP-RO800"]},
                        headers={"If-Match": etag})
    assert changed.status_code == 200, changed.json
    assert (changed.json["list_price"], changed.json["compatible_products"]) == ("329.00", ["WP-RO800"])
    assert api.patch(url, as_="admin", json={"active": False}, headers={"If-Match": etag}).status_code == 412


def test_labour_rates_are_read_by_all_and_set_by_hq(api):
    rates = {r["job_type"]: r["amount"] for r in api.get("/api/v1/labour-rates", as_="tech.hz01.1").json}
    assert rates == {"install": "0.00", "repair": "80.00", "maintenance": "50.00"}
    changed = api.put("/api/v1/labour-rates/repair", as_="admin", json={"amount": "95.50"})
    assert changed.status_code == 200 and changed.json["amount"] == "95.50"
    assert_problem(api.put("/api/v1/labour-rates/repair", as_="manager.hz01", json={"amount": "1"}), 403)
    assert_problem(api.put("/api/v1/labour-rates/repair", as_="admin", json={"amount": "-5"}), 422, field="amount")
    assert_problem(api.put("/api/v1/labour-rates/polishing", as_="admin", json={"amount": "5"}), 404)
