"""Intake routes by the process's network index (dispatch.network.index): a region, coverage or
authorisation changed through the API is what the very next intake sees, and a change a
transaction made and rolled back is never what the next one sees."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.jobs import resolution
from dispatch.network.index import network_index
from dispatch.network.models import AuthorisationStatus, JobType, ProductCategory, Region, ServicePoint
from tests.api.jobs_builders import MONDAY, TUESDAY, local, own_hooks_only  # noqa: F401 - fixture
from tests.dates import SUITE_TODAY


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def intake(api, **where):
    body = {"type": "install", "product_sku": "WP-RO500", "description": "new kitchen",
            "customer": {"name": "Qian Hao", "phone": "13999990001", "address": "8 Lakeview Rd"},
            "window_start": local(TUESDAY, 13).isoformat(), "window_end": local(TUESDAY, 17).isoformat()}
    response = api.post("/api/v1/jobs/", as_="admin", json=body | where)
    assert response.status_code == 201, response.json
    return response.json["dispatch"]


def centre(ring):
    return sum(p[1] for p in ring[:4]) / 4, sum(p[0] for p in ring[:4]) / 4


def test_suspending_a_point_through_the_api_routes_the_very_next_intake_elsewhere(api):
    first = intake(api, region_code="ZJ-HZ-XH")
    assert (first["service_point_code"], first["reason"]) == ("HZ01", "region_code")
    suspended = api.post(f"/api/v1/service-points/{first['service_point_id']}/suspend", as_="admin",
                         json={"reason": "failed the quarterly audit"})
    assert suspended.status_code == 200, suspended.json
    hz01 = api.get(f"/api/v1/service-points/{first['service_point_id']}", as_="admin").json
    second = intake(api, region_code="ZJ-HZ-XH", location=hz01["location"])
    assert (second["service_point_code"], second["reason"], second["out_of_area"]) == ("HZ02", "nearest", True)

    reinstated = api.post(f"/api/v1/service-points/{first['service_point_id']}/reinstate", as_="admin", json={})
    assert reinstated.status_code == 200, reinstated.json
    assert intake(api, region_code="ZJ-HZ-XH")["service_point_code"] == "HZ01"


def test_redrawing_a_district_through_the_api_routes_the_very_next_intake_by_the_new_boundary(api):
    district = api.get("/api/v1/regions/?code=ZJ-NB-JB", as_="admin").json[0]
    lat, lon = centre(district["boundary"]["coordinates"][0])
    aside = {"lat": lat + 0.025, "lon": lon}  # inside the district as drawn today, off its centre
    assert intake(api, location=aside)["region_code"] == "ZJ-NB-JB"

    d = 0.005  # the district shrinks to a small square around its centre
    small = {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                 [lon - d, lat + d], [lon - d, lat - d]]]}
    path = f"/api/v1/regions/{district['id']}"
    redrawn = api.patch(path, as_="admin", json={"boundary": small},
                        headers={"If-Match": api.get(path, as_="admin").headers["ETag"]})
    assert redrawn.status_code == 200, redrawn.json
    moved = intake(api, location=aside)
    assert (moved["region_code"], moved["reason"], moved["out_of_area"]) == (None, "nearest", True)
    inside = intake(api, location={"lat": lat, "lon": lon})
    assert (inside["region_code"], inside["reason"]) == ("ZJ-NB-JB", "polygon")


def test_a_new_district_is_routable_by_code_at_once(api):
    city = api.get("/api/v1/regions/?code=ZJ-HZ", as_="admin").json[0]
    created = api.post("/api/v1/regions/", as_="admin", json={"code": "ZJ-HZ-NEW", "name": "New district",
                                                             "level": "district", "parent_id": city["id"]})
    assert created.status_code == 201, created.json
    body = {"type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-NEW",
            "customer": {"name": "Qian Hao", "phone": "13999990001", "address": "8 Lakeview Rd"}}
    response = api.post("/api/v1/jobs/", as_="admin", json=body)
    assert response.status_code == 422 and response.json["reason"] == "region-not-covered", response.json


def resolve_xihu(session):
    return resolution.resolve(session, category=ProductCategory.WATER_PURIFIER, job_type=JobType.INSTALL,
                              on=SUITE_TODAY, radius_km=30, region_code="ZJ-HZ-XH")


def test_a_transaction_sees_its_own_network_change_and_a_rolled_back_one_is_seen_by_nobody(uow_factory):
    with uow_factory() as uow:  # leaves without committing: rolled back
        session = uow.session
        assert resolve_xihu(session).service_point.code == "HZ01"
        hz01 = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
        hz01.status = AuthorisationStatus.SUSPENDED
        with pytest.raises(resolution.NoCoverage):
            resolve_xihu(session)  # its own, unflushed change (autoflush) counts
        changed = network_index(session)
    with uow_factory() as uow:
        index = network_index(uow.session)
        assert index is not changed and index.token != changed.token
        assert resolve_xihu(uow.session).service_point.code == "HZ01"
        assert resolve_xihu(uow.session).region == index.region_codes["ZJ-HZ-XH"]
        assert uow.session.get(Region, index.region_codes["ZJ-HZ-XH"].id).code == "ZJ-HZ-XH"
