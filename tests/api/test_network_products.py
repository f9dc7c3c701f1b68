"""The product catalogue through HTTP: HQ maintains it, everyone reads it; warranty terms feed
the unit warranty answer."""

from __future__ import annotations

from tests.helpers import assert_problem

NEW = {"sku": "wh-eh80", "name": "HeatWell EH-80 electric water heater 80 L", "category": "water_heater",
       "warranty_months": 48, "maintenance_interval_days": 365,
       "standard_minutes": {"install": 130, "repair": 80, "maintenance": 45}}


def test_admin_adds_a_model_and_everyone_reads_the_catalogue(api):
    created = api.post("/api/v1/products/", as_="admin", json=NEW)
    assert created.status_code == 201, created.json
    assert created.json["sku"] == "WH-EH80" and created.json["standard_minutes"]["install"] == 130
    assert_problem(api.post("/api/v1/products/", as_="admin", json=NEW), 409)
    assert_problem(api.post("/api/v1/products/", as_="manager.hz01", json={**NEW, "sku": "WH-EH90"}), 403)
    heaters = api.get("/api/v1/products/?category=water_heater", as_="tech.hz01.1")
    assert heaters.status_code == 200
    assert [p["sku"] for p in heaters.json] == ["WH-EH60", "WH-EH80", "WH-GH16"]
    assert '"total": 3' in heaters.headers["X-Pagination"]


def test_bad_catalogue_input_names_the_field(api):
    assert_problem(api.post("/api/v1/products/", as_="admin", json={**NEW, "warranty_months": -1}), 422,
                   field="warranty_months")
    assert_problem(api.post("/api/v1/products/", as_="admin", json={**NEW, "standard_minutes": {"install": 0}}),
                   422, field="standard_minutes.install")
    assert_problem(api.post("/api/v1/products/", as_="admin", json={**NEW, "category": "toaster"}), 422,
                   field="category")


def test_a_longer_warranty_applies_to_units_of_the_model(api):
    unit = api.get("/api/v1/units/?activated=true&page_size=1", as_="admin").json[0]
    product = unit["product"]
    path = f"/api/v1/products/{product['id']}"
    etag = api.get(path, as_="admin").headers["ETag"]
    assert_problem(api.patch(path, as_="admin", json={"warranty_months": 60}), 428)
    changed = api.patch(path, as_="admin", json={"warranty_months": 60, "standard_minutes": {"repair": 70}},
                        headers={"If-Match": etag})
    assert changed.status_code == 200, changed.json
    assert changed.json["warranty_months"] == 60 and changed.json["standard_minutes"]["repair"] == 70
    assert changed.json["standard_minutes"]["install"] == api.get(path, as_="admin").json["standard_minutes"][
        "install"]
    year, month, day = (int(x) for x in unit["purchased_on"].split("-"))
    answer = api.get(f"/api/v1/units/{unit['serial']}/warranty", as_="admin").json
    assert answer["warranty_until"].startswith(str(year + 5))
    assert_problem(api.patch(path, as_="admin", json={"name": "x"}, headers={"If-Match": etag}), 412)


def test_only_an_unused_model_can_be_deleted(api):
    used = api.get("/api/v1/products/?sku=WP-RO500", as_="admin").json[0]
    path = f"/api/v1/products/{used['id']}"
    body = assert_problem(api.delete(path, as_="admin", headers={"If-Match": api.get(path, as_="admin").headers["ETag"]}),
                          409)
    assert body["in_use"]["units"] > 0
    created = api.post("/api/v1/products/", as_="admin", json=NEW).json
    new_path = f"/api/v1/products/{created['id']}"
    assert_problem(api.delete(new_path, as_="manager.hz01", headers={"If-Match": '"x"'}), 403)
    gone = api.delete(new_path, as_="admin", headers={"If-Match": api.get(new_path, as_="admin").headers["ETag"]})
    assert gone.status_code == 204
    assert_problem(api.get(new_path, as_="admin"), 404)
