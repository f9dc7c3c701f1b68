"""Job intake: dispatch to the authorised point (code, polygon, nearest, none), validation, warranty, SLA."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.network.models import AuthorisationStatus, Customer, ProductCategory
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    create_job,
    own_hooks_only,  # noqa: F401 - fixture
    local,
    point,
    region,
    repair_body,
    unactivated_unit,
    units,
)
from tests.helpers import assert_problem


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def install_body(**overrides):
    body = {"type": "install", "product_sku": "WP-RO500", "description": "new kitchen",
            "customer": {"name": "Qian Hao", "phone": "13999990001", "address": "8 Lakeview Rd"},
            "window_start": local(TUESDAY, 13).isoformat(), "window_end": local(TUESDAY, 17).isoformat()}
    return body | overrides


def test_a_region_code_dispatches_to_the_point_authorised_for_that_district(api, session):
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(region_code="ZJ-HZ-GS"))
    assert response.status_code == 201, response.json
    job = response.json
    assert job["status"] == "dispatched"
    assert job["dispatch"] == {"service_point_id": str(point(session, "HZ01").id), "service_point_code": "HZ01",
                               "reason": "region_code", "region_code": "ZJ-HZ-GS", "out_of_area": False,
                               "distance_km": None}
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in job["events"]] == [
        ("created", None, "new"), ("transition", "new", "dispatched")]


def test_a_location_inside_a_district_polygon_dispatches_to_that_districts_point(api, session):
    centre = region(session, "ZJ-NB-JB").boundary["coordinates"][0]
    lat = sum(p[1] for p in centre[:4]) / 4
    lon = sum(p[0] for p in centre[:4]) / 4
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(location={"lat": lat, "lon": lon}))
    assert response.status_code == 201, response.json
    dispatch = response.json["dispatch"]
    assert (dispatch["service_point_code"], dispatch["reason"], dispatch["region_code"]) == ("NB02", "polygon",
                                                                                              "ZJ-NB-JB")
    assert dispatch["out_of_area"] is False and dispatch["distance_km"] > 0
    assert response.json["location"] == {"lat": lat, "lon": lon}


def test_the_customers_location_is_used_when_the_job_gives_none(api, session):
    unit = units(session, "SZ02")[0]
    response = api.post("/api/v1/jobs/", as_="admin", json={"type": "maintenance", "unit_serial": unit.serial})
    assert response.status_code == 201, response.json
    assert response.json["dispatch"]["service_point_code"] == "SZ02"
    assert response.json["location"] == {"lat": unit.customer.lat, "lon": unit.customer.lon}
    assert response.json["customer"]["id"] == str(unit.customer_id)
    assert response.json["address"] == unit.customer.address


def test_outside_every_district_the_nearest_point_within_the_radius_takes_the_job_out_of_area(api, session):
    # just north of the Hangzhou grid (its districts end near 30.40 N)
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(location={"lat": 30.46, "lon": 120.20}))
    assert response.status_code == 201, response.json
    dispatch = response.json["dispatch"]
    assert dispatch["reason"] == "nearest" and dispatch["out_of_area"] is True
    assert dispatch["region_code"] is None
    assert dispatch["service_point_code"] in {"HZ01", "HZ02"}
    assert 0 < dispatch["distance_km"] <= 30


def test_a_district_whose_point_is_suspended_falls_back_to_the_nearest_active_point(api, session):
    hz01 = point(session, "HZ01")
    hz01.status = AuthorisationStatus.SUSPENDED
    session.flush()
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(region_code="ZJ-HZ-XH",
                                                                       location={"lat": hz01.lat, "lon": hz01.lon}))
    assert response.status_code == 201, response.json
    dispatch = response.json["dispatch"]
    assert (dispatch["service_point_code"], dispatch["reason"], dispatch["out_of_area"]) == ("HZ02", "nearest", True)
    assert dispatch["region_code"] == "ZJ-HZ-XH"


def test_a_place_no_point_covers_or_reaches_is_a_422_naming_the_reason(api):
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(location={"lat": 39.90, "lon": 116.40}))
    body = assert_problem(response, 422, code="no-coverage")
    assert body["reason"] == "no-point-within-radius" and body["radius_km"] == 30
    assert "30 km" in body["detail"]


def test_a_region_without_a_point_and_no_location_is_a_422(api):
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(region_code="ZJ-HZ"))
    body = assert_problem(response, 422, code="no-coverage")
    assert body["reason"] == "region-not-covered" and body["region_code"] == "ZJ-HZ"


def test_latitude_and_longitude_out_of_range_are_422_naming_the_field(api):
    assert_problem(api.post("/api/v1/jobs/", as_="admin", json=install_body(location={"lat": 91, "lon": 120})),
                   422, field="location.lat")
    assert_problem(api.post("/api/v1/jobs/", as_="admin", json=install_body(location={"lat": 30, "lon": -181})),
                   422, field="location.lon")


def test_an_unknown_region_code_or_nothing_to_locate_by_is_422(api):
    assert_problem(api.post("/api/v1/jobs/", as_="admin", json=install_body(region_code="XX-00")), 422,
                   field="region_code")
    assert_problem(api.post("/api/v1/jobs/", as_="admin", json=install_body()), 422, field="location")


def test_repair_and_maintenance_need_the_serial_of_an_activated_unit(api, session):
    for job_type in ("repair", "maintenance"):
        missing = api.post("/api/v1/jobs/", as_="admin", json=install_body(type=job_type, product_sku=None))
        assert_problem(missing, 422, field="unit_serial")
    unknown = api.post("/api/v1/jobs/", as_="admin", json={"type": "repair", "unit_serial": "NOPE-1"})
    assert_problem(unknown, 422, field="unit_serial")
    customer = session.scalar(select(Customer).order_by(Customer.phone).limit(1))
    response = api.post("/api/v1/jobs/", as_="admin", json={
        "type": "repair", "unit_serial": unactivated_unit(session).serial, "customer_id": str(customer.id)})
    body = assert_problem(response, 422, field="unit_serial")
    assert "not activated" in body["errors"]["unit_serial"][0]


def test_an_install_names_a_model_and_may_take_a_new_customer_in(api, session):
    response = api.post("/api/v1/jobs/", as_="admin", json=install_body(
        customer={"name": "Qian Hao", "phone": "13999990001", "address": "8 Lakeview Rd", "grade": "vip",
                  "location": {"lat": 30.25, "lon": 120.12}}))
    assert response.status_code == 201, response.json
    job = response.json
    assert (job["type"], job["product_sku"], job["category"], job["unit_serial"]) == (
        "install", "WP-RO500", "water_purifier", None)
    customer = session.get(Customer, uuid.UUID(job["customer"]["id"]))
    assert (customer.name, customer.grade.value, customer.lat) == ("Qian Hao", "vip", 30.25)
    assert customer.service_point_id == point(session, "HZ01").id  # the point that first serves them
    assert job["duration_minutes"] == 90 and job["address"] == "8 Lakeview Rd"
    again = api.post("/api/v1/jobs/", as_="admin", json=install_body(
        customer={"name": "Qian Hao", "phone": "13999990001"}, location={"lat": 30.25, "lon": 120.12}))
    assert again.json["customer"]["id"] == job["customer"]["id"]  # the phone number is the household


def test_intake_rejects_bad_combinations_naming_the_field(api, session):
    unit = units(session, "HZ01")[0]
    other = units(session, "HZ02")[0]
    cases = [
        (install_body(product_sku=None), "product_sku"),
        (install_body(product_sku="NO-SUCH"), "product_sku"),
        (install_body(customer=None), "customer_id"),
        (install_body(customer_id=str(other.customer_id)), "customer"),
        ({"type": "repair", "unit_serial": unit.serial, "customer_id": str(other.customer_id)}, "unit_serial"),
        ({"type": "repair", "unit_serial": unit.serial, "product_sku": "WH-GH16" if unit.product.sku != "WH-GH16"
          else "WP-RO500"}, "product_sku"),
        (install_body(window_end=local(TUESDAY, 12).isoformat(), window_start=local(TUESDAY, 13).isoformat(),
                      region_code="ZJ-HZ-GS"), "window_end"),
        (install_body(window_end=None, region_code="ZJ-HZ-GS"), "window_end"),
        (install_body(window_start="2027-03-02T09:00:00", region_code="ZJ-HZ-GS"), "window_start"),
        (install_body(priority="asap", region_code="ZJ-HZ-GS"), "priority"),
        (install_body(type="demolition", region_code="ZJ-HZ-GS"), "type"),
    ]
    for body, field in cases:
        assert_problem(api.post("/api/v1/jobs/", as_="admin", json=body), 422, field=field)


def test_repairs_record_whether_labour_and_parts_are_covered_at_the_reported_date(api, session):
    day = MONDAY.date()
    covered = units(session, "HZ01", in_warranty_on=day, covered=True)[0]
    expired = [u for u in units(session, "HZ01", in_warranty_on=day, covered=False) if u.purchased_on]
    assert expired, "the demo data has units out of warranty"
    inside = create_job(api, session, unit_serial=covered.serial)
    assert (inside["warranty_decision"], inside["labour_covered"], inside["parts_covered"]) == ("covered", True, True)
    assert inside["warranty_until"] >= day.isoformat()
    outside = create_job(api, session, unit_serial=expired[0].serial)
    assert (outside["warranty_decision"], outside["labour_covered"], outside["parts_covered"]) == (
        "chargeable", False, False)
    maintenance = create_job(api, session, type="maintenance", unit_serial=covered.serial)
    assert maintenance["warranty_decision"] is None


def test_the_sla_due_time_comes_from_the_target_for_type_priority_and_grade(api, session):
    vip = next(u for u in units(session, "HZ01") if u.customer.grade.value == "vip")
    standard = next(u for u in units(session, "HZ01") if u.customer.grade.value == "standard")
    cases = [(vip, "normal", 24), (standard, "normal", 48), (standard, "urgent", 8), (vip, "urgent", 4)]
    for unit, priority, hours in cases:
        job = create_job(api, session, unit_serial=unit.serial, priority=priority)
        assert job["sla_target_hours"] == hours
        assert datetime.fromisoformat(job["sla_due_at"]) == MONDAY + timedelta(hours=hours)
        assert job["sla_status"] == "ok" and job["priority"] == priority
    install = api.post("/api/v1/jobs/", as_="admin", json=install_body(region_code="ZJ-HZ-GS")).json
    assert install["sla_target_hours"] == 72


def test_managers_take_in_jobs_for_their_own_point_only(api, session):
    own = api.post("/api/v1/jobs/", as_="manager.hz01", json=repair_body(session, "HZ01"))
    assert own.status_code == 201 and own.json["dispatch"]["service_point_code"] == "HZ01"
    foreign = api.post("/api/v1/jobs/", as_="manager.hz01", json=repair_body(session, "NB01"))
    body = assert_problem(foreign, 422, code="rule-violation")
    assert body["reason"] == "dispatches-elsewhere" and body["service_point_code"] == "NB01"
    assert_problem(api.post("/api/v1/jobs/", as_="tech.hz01.1", json=repair_body(session)), 403, code="forbidden")
    assert_problem(api.post("/api/v1/jobs/", as_="reviewer", json=repair_body(session)), 403, code="forbidden")


def test_intake_writes_the_audit_log_in_the_same_transaction(api, session):
    job = create_job(api, session)
    kinds = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == job["id"]).order_by(LogEntry.seq))
    assert list(kinds) == ["job.created", "job.transition"]


def test_a_heater_unit_goes_to_the_point_authorised_for_heaters(api, session):
    unit = units(session, "NB01", category=ProductCategory.WATER_HEATER)[0]
    job = create_job(api, session, "NB01", unit_serial=unit.serial)
    assert job["category"] == "water_heater" and job["dispatch"]["service_point_code"] == "NB01"


def test_an_inline_customer_is_matched_by_the_normalised_phone_number(api):
    def intake(phone):
        return api.post("/api/v1/jobs", as_="admin", json={
            "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
            "customer": {"name": "Phone Format", "phone": phone}})

    first, second = intake("139 0000-7777"), intake("13900007777")
    assert first.status_code == second.status_code == 201, (first.json, second.json)
    assert first.json["customer"]["id"] == second.json["customer"]["id"]
