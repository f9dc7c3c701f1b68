"""ETag and If-None-Match on the reference lists and on one job: a client that already holds the
current representation gets 304 with no body; any change gives a new ETag and the full answer."""

from __future__ import annotations

import pytest

from tests.api.jobs_builders import create_job

REFERENCE_LISTS = ["/api/v1/regions", "/api/v1/parts", "/api/v1/products", "/api/v1/service-points",
                   "/api/v1/sla-targets"]


@pytest.mark.parametrize("path", REFERENCE_LISTS)
def test_a_reference_list_answers_304_to_the_etag_it_gave(api, path):
    first = api.get(path, as_="admin")
    assert first.status_code == 200 and first.headers["ETag"]
    again = api.get(path, as_="admin", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    stale = api.get(path, as_="admin", headers={"If-None-Match": '"not-the-current-one"'})
    assert stale.status_code == 200 and stale.json == first.json


def test_a_changed_reference_list_gets_a_new_etag(api):
    first = api.get("/api/v1/parts", as_="admin")
    created = api.post("/api/v1/parts", as_="admin", json={
        "sku": "ETAG-TEST-1", "name": "ETag test part", "list_price": "1.00"})
    assert created.status_code == 201, created.json
    after = api.get("/api/v1/parts", as_="admin", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]


def test_one_job_answers_304_until_it_changes(api, session):
    job = create_job(api, session)
    path = f"/api/v1/jobs/{job['id']}"
    first = api.get(path, as_="manager.hz01")
    assert first.status_code == 200, first.json
    assert api.get(path, as_="manager.hz01", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    cancelled = api.post(f"{path}/transitions", as_="manager.hz01", json={"to": "cancelled", "reason": "customer"})
    assert cancelled.status_code in (200, 201), cancelled.json
    after = api.get(path, as_="manager.hz01", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.json["status"] == "cancelled"
