"""Customers through HTTP: phone masking (admins and the customer's own point see it, by first
service; by a job: tests/services/test_network_rules.py), who may edit, duplicates by phone, and pagination."""

from __future__ import annotations

import re

from sqlalchemy import select

from dispatch.network.models import Customer
from tests.helpers import assert_problem

MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")


def point_id(api, code):
    return next(p for p in api.get(f"/api/v1/service-points/?q={code}", as_="admin").json if p["code"] == code)["id"]


def customers_of(api, code, as_):
    return api.get(f"/api/v1/customers/?service_point_id={point_id(api, code)}&page_size=100", as_=as_).json


def test_lists_mask_phone_numbers_for_everyone_but_admins_and_the_customers_own_point(api):
    own = customers_of(api, "HZ01", "manager.hz01")
    foreign = customers_of(api, "NB01", "manager.hz01")
    assert len(own) == 50 and len(foreign) == 50
    assert all(not c["masked"] and re.fullmatch(r"\d{11}", c["phone"]) for c in own)
    assert all(c["masked"] and MASKED_PHONE.match(c["phone"]) for c in foreign)
    assert all(c["location"] is None and c["name"].endswith(" *") for c in foreign)
    full = {c["id"]: c["phone"] for c in customers_of(api, "NB01", "admin")}
    sample = foreign[0]
    assert sample["phone"] == full[sample["id"]][:3] + "****" + full[sample["id"]][-4:]
    assert all(not c["masked"] for c in customers_of(api, "NB01", "admin"))
    assert all(c["masked"] for c in customers_of(api, "HZ01", "reviewer"))  # HQ reviewers are not admins
    assert all(not c["masked"] for c in customers_of(api, "HZ01", "tech.hz01.3"))
    assert all(c["masked"] for c in customers_of(api, "HZ01", "tech.hz02.1"))


def test_single_customers_are_masked_the_same_way(api):
    customer = customers_of(api, "NB01", "admin")[0]
    path = f"/api/v1/customers/{customer['id']}"
    assert api.get(path, as_="manager.nb01").json["phone"] == customer["phone"]
    seen = api.get(path, as_="tech.sz02.1").json
    assert seen["masked"] is True and seen["phone"] != customer["phone"] and MASKED_PHONE.match(seen["phone"])


def test_registering_a_customer_is_once_per_phone_number_and_for_the_callers_point(api):
    created = api.post("/api/v1/customers/", as_="tech.sz01.2", json={
        "name": "Tang Li", "phone": "139 0000 1234", "address": "5 Renmin Rd", "location": {"lat": 31.3, "lon": 120.6},
        "email": "tang.li@example.com"})
    assert created.status_code == 201, created.json
    assert created.json["phone"] == "13900001234" and created.json["service_point_id"] == point_id(api, "SZ01")
    body = assert_problem(api.post("/api/v1/customers/", as_="manager.hz01", json={
        "name": "Someone Else", "phone": "13900001234"}), 409)
    assert body["existing_id"] == created.json["id"]
    masked = api.get(f"/api/v1/customers/{created.json['id']}", as_="manager.hz01").json
    assert masked["email"] == "t***@example.com"
    assert_problem(api.post("/api/v1/customers/", as_="manager.hz01", json={"name": "X", "phone": "call me"}), 422,
                   field="phone")
    assert_problem(api.post("/api/v1/customers/", as_="manager.hz01", json={
        "name": "X", "phone": "13900005678", "service_point_id": point_id(api, "NB01")}), 422, field="service_point_id")
    assert_problem(api.post("/api/v1/customers/", as_="reviewer", json={"name": "X", "phone": "13900005678"}), 403)


def test_only_admins_and_the_own_points_manager_edit_a_customer(api):
    customer = customers_of(api, "HZ01", "admin")[0]
    path = f"/api/v1/customers/{customer['id']}"
    foreign_etag = api.get(path, as_="manager.nb01").headers["ETag"]
    assert_problem(api.patch(path, as_="manager.nb01", json={"address": "elsewhere"},
                             headers={"If-Match": foreign_etag}), 404)  # another point's: as if missing
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    assert etag != foreign_etag  # what each caller sees differs, so do the tags
    assert_problem(api.patch(path, as_="manager.hz01", json={"grade": "vip"}, headers={"If-Match": etag}), 403)
    edited = api.patch(path, as_="manager.hz01", json={"address": "77 Fengqi Rd, ZJ-HZ-XH"},
                       headers={"If-Match": etag})
    assert edited.status_code == 200 and edited.json["address"] == "77 Fengqi Rd, ZJ-HZ-XH"
    assert_problem(api.patch(path, as_="manager.hz01", json={"address": "again"}, headers={"If-Match": etag}), 412)
    vip = api.patch(path, as_="admin", json={"grade": "vip"},
                    headers={"If-Match": api.get(path, as_="admin").headers["ETag"]})
    assert vip.status_code == 200 and vip.json["grade"] == "vip"
    tech_etag = api.get(path, as_="tech.hz01.1").headers["ETag"]
    assert_problem(api.patch(path, as_="tech.hz01.1", json={"address": "x"}, headers={"If-Match": tech_etag}), 403)


def test_name_search_only_reaches_customers_the_caller_may_see(api, session):
    target = session.scalar(select(Customer).where(Customer.phone.like("1381%")).order_by(Customer.phone).limit(1))
    surname = target.name.split()[0]
    mine = api.get(f"/api/v1/customers/?q={surname}&page_size=100", as_="manager.nb01").json
    everyone = api.get(f"/api/v1/customers/?q={surname}&page_size=100", as_="admin").json
    assert mine and all(not c["masked"] for c in mine)
    assert len(everyone) > len(mine)
    paged = api.get("/api/v1/customers/?grade=vip&page_size=5", as_="admin")
    assert len(paged.json) == 5 and all(c["grade"] == "vip" for c in paged.json)
    assert '"total": 36' in paged.headers["X-Pagination"]
