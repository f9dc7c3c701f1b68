"""Another point's object answers a write exactly like a missing one: 404, before any role check
(403), If-Match check (428 without one, 412 with a stale one) or state check (409). The registry
objects every role may read (customers, units) included; tests/api/test_authorization_matrix.py
checks the same over every route with an object id."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from dispatch.jobs.models import Job
from dispatch.network.models import Customer, ServicePoint, Unit
from tests.helpers import assert_problem

STALE = '"' + "0" * 40 + '"'
MISSING_SERIAL = "ZZ20269999999"


@pytest.fixture
def objects(session) -> dict[str, str]:
    """A customer (with a unit) that only NB01 serves, and one HZ01 serves."""
    points = dict(session.execute(select(ServicePoint.code, ServicePoint.id)).all())
    hz01_customers = select(Job.customer_id).where(Job.service_point_id == points["HZ01"], Job.customer_id.is_not(None))
    foreign = session.scalar(select(Customer).where(
        Customer.service_point_id == points["NB01"], Customer.id.not_in(hz01_customers),
        Customer.id.in_(select(Unit.customer_id))).order_by(Customer.id).limit(1))
    own = session.scalar(select(Customer).where(Customer.service_point_id == points["HZ01"],
                                                Customer.id.in_(select(Unit.customer_id))).order_by(Customer.id).limit(1))
    unit = lambda customer: session.scalar(select(Unit.serial).where(Unit.customer_id == customer.id)  # noqa: E731
                                           .order_by(Unit.serial).limit(1))
    return {"foreign_customer": str(foreign.id), "own_customer": str(own.id), "foreign_unit": unit(foreign),
            "own_unit": unit(own), "missing_customer": str(uuid.uuid4()), "missing_unit": MISSING_SERIAL}


def patch(api, path: str, as_: str, if_match: str | None, body: dict):
    headers = {"If-Match": if_match} if if_match else {}
    return api.patch(path, as_=as_, json=body, headers=headers)


@pytest.mark.parametrize("caller", ["manager.hz01", "tech.hz01.1"])
def test_patching_another_points_customer_is_a_404_like_a_missing_one(api, objects, caller):
    path = "/api/v1/customers/{}"
    readable = api.get(path.format(objects["foreign_customer"]), as_=caller)
    assert readable.status_code == 200 and readable.json["masked"] is True  # the registry is readable...
    realistic = readable.headers["ETag"]
    for if_match in (realistic, STALE, None):  # ...but not writable, and says nothing more on a write
        foreign = patch(api, path.format(objects["foreign_customer"]), caller, if_match, {"address": "x"})
        missing = patch(api, path.format(objects["missing_customer"]), caller, if_match, {"address": "x"})
        assert_problem(foreign, 404)
        assert_problem(missing, 404)
        assert foreign.json["detail"].replace(objects["foreign_customer"], "ID") == \
            missing.json["detail"].replace(objects["missing_customer"], "ID")


def test_on_its_own_point_a_customer_patch_checks_the_role_then_if_match(api, objects):
    path = f"/api/v1/customers/{objects['own_customer']}"
    assert_problem(patch(api, path, "tech.hz01.1", None, {"address": "x"}), 403)
    assert_problem(patch(api, path, "manager.hz01", None, {"address": "x"}), 428)
    assert_problem(patch(api, path, "manager.hz01", STALE, {"address": "x"}), 412)
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    assert patch(api, path, "manager.hz01", etag, {"address": "8 Own Road"}).status_code == 200


@pytest.mark.parametrize("caller", ["manager.hz01", "tech.hz01.1"])
def test_writing_another_points_unit_is_a_404_like_a_missing_serial(api, objects, caller):
    foreign, missing = (f"/api/v1/units/{objects[k]}" for k in ("foreign_unit", "missing_unit"))
    realistic = api.get(foreign, as_=caller).headers["ETag"]
    for if_match in (realistic, STALE, None):
        body = {"manufactured_on": objects["foreign_unit"][2:6] + "-01-15"}
        assert_problem(patch(api, foreign, caller, if_match, body), 404)
        assert_problem(patch(api, missing, caller, if_match, body), 404)
    activation = {"customer_id": objects["own_customer"], "purchased_on": "2026-01-10", "sales_channel": "retail"}
    for method in ("POST", "PUT"):  # activate (already activated: 409 if it were ours), re-bind (HQ only)
        body = activation if method == "POST" else {"customer_id": objects["own_customer"], "reason": "resold"}
        assert_problem(api.request(method, f"{foreign}/activation", caller, json=body), 404)
        assert_problem(api.request(method, f"{missing}/activation", caller, json=body), 404)


def test_on_its_own_point_a_unit_write_checks_the_role_then_the_state(api, objects):
    own = f"/api/v1/units/{objects['own_unit']}"
    assert_problem(patch(api, own, "manager.hz01", None, {"manufactured_on": "2025-01-15"}), 403)  # HQ only
    body = {"customer_id": objects["own_customer"], "purchased_on": "2026-01-10", "sales_channel": "retail"}
    assert_problem(api.post(f"{own}/activation", as_="manager.hz01", json=body), 409)  # activated already
    assert_problem(api.put(f"{own}/activation", as_="manager.hz01", json={
        "customer_id": objects["own_customer"], "reason": "resold"}), 403)
