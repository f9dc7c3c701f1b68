"""Service points through HTTP: exclusive coverage (with lapse and suspension), the authorisation
lifecycle and its history, and scoping by role."""

from __future__ import annotations

from datetime import date, timedelta

from dispatch.clock import frozen
from tests.dates import SUITE_TODAY, local
from tests.helpers import Api, assert_problem

CATEGORIES = ("water_purifier", "water_heater")


def point(api, code):
    found = api.get(f"/api/v1/service-points/?q={code}", as_="admin").json
    return next(p for p in found if p["code"] == code)


def region_id(api, code):
    return api.get(f"/api/v1/regions/?code={code}", as_="admin").json[0]["id"]


def new_point(api, code, districts, categories=("water_purifier",)):
    body = {
        "code": code, "name": f"{code} Service", "address": "1 Test Rd", "location": {"lat": 30.25, "lon": 120.13},
        "contact": {"name": "Zhou Min", "phone": "0571-8000000"}, "categories": list(categories),
        "job_types": ["install", "repair", "maintenance"],
        "coverage": [{"region_id": region_id(api, d), "category": c} for d in districts for c in categories],
    }
    created = api.post("/api/v1/service-points/", as_="admin", json=body)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "pending" and created.json["is_authorised"] is False
    return created.json


SEEDED_UNTIL = date(SUITE_TODAY.year + 1, 12, 31)  # the demo points' authorisations (seeds/network.py)


def authorise(api, point_id, valid_until=str(SEEDED_UNTIL), **extra):
    return api.post(f"/api/v1/service-points/{point_id}/authorise", as_="admin",
                    json={"valid_until": valid_until, **extra})


def test_every_district_is_served_by_exactly_one_authorised_point_per_category(api):
    districts = api.get("/api/v1/regions/?level=district&page_size=100", as_="admin").json
    assert len(districts) == 12
    today = SUITE_TODAY.isoformat()
    for district in districts:
        for category in CATEGORIES:
            serving = api.get(f"/api/v1/service-points/?region_id={district['id']}&category={category}"
                              f"&authorised_on={today}", as_="admin").json
            assert len(serving) == 1, (district["code"], category, [p["code"] for p in serving])
    suspended = api.get("/api/v1/service-points/?status=suspended", as_="admin").json
    assert [p["code"] for p in suspended] == ["SZ03"]
    assert suspended[0]["is_authorised"] is False


def test_a_second_point_for_a_served_region_is_a_409_naming_the_incumbent(api):
    rival = new_point(api, "HZ09", ["ZJ-HZ-XH"])
    incumbent = point(api, "HZ01")
    body = assert_problem(authorise(api, rival["id"]), 409)
    assert body["conflicting_point_code"] == "HZ01" and body["conflicting_point_id"] == incumbent["id"]
    assert body["region_code"] == "ZJ-HZ-XH" and body["category"] == "water_purifier"
    assert "HZ01" in body["detail"]
    assert point(api, "HZ09")["status"] == "pending"


def test_suspending_the_incumbent_frees_the_region_and_reinstating_it_then_conflicts(api):
    rival = new_point(api, "HZ09", ["ZJ-HZ-XH"])
    incumbent = point(api, "HZ01")
    suspended = api.post(f"/api/v1/service-points/{incumbent['id']}/suspend", as_="admin",
                         json={"reason": "failed the quarterly audit"})
    assert suspended.status_code == 200 and suspended.json["status"] == "suspended"
    authorised = authorise(api, rival["id"], reason="takes over Xihu")
    assert authorised.status_code == 200, authorised.json
    assert authorised.json["status"] == "active" and authorised.json["is_authorised"] is True
    serving = api.get(f"/api/v1/service-points/?region_id={region_id(api, 'ZJ-HZ-XH')}&category=water_purifier"
                      f"&authorised_on={SUITE_TODAY}", as_="admin").json
    assert [p["code"] for p in serving] == ["HZ09"]

    body = assert_problem(api.post(f"/api/v1/service-points/{incumbent['id']}/reinstate", as_="admin", json={}), 409)
    assert body["conflicting_point_code"] == "HZ09" and body["conflicting_point_id"] == rival["id"]
    assert point(api, "HZ01")["status"] == "suspended"


def test_the_demo_suspended_point_cannot_be_reinstated_over_its_successor(api):
    sz03 = point(api, "SZ03")
    body = assert_problem(api.post(f"/api/v1/service-points/{sz03['id']}/reinstate", as_="admin", json={}), 409)
    assert body["conflicting_point_code"] == "SZ02"
    assert {c["region_code"] for c in body["conflicts"]} == {"JS-SZ-GS"}
    assert {c["category"] for c in body["conflicts"]} == set(CATEGORIES)


def test_a_lapsed_authorisation_no_longer_blocks_the_region(client):
    with frozen(local(SEEDED_UNTIL + timedelta(days=10), 10)):  # HZ01's authorisation has lapsed
        api = Api(client)  # tokens issued in the frozen present
        rival = new_point(api, "HZ09", ["ZJ-HZ-XH"])
        hz01 = point(api, "HZ01")
        assert hz01["status"] == "active" and hz01["is_authorised"] is False
        until = str(SEEDED_UNTIL + timedelta(days=3 * 365))
        authorised = authorise(api, rival["id"], valid_until=until)
        assert authorised.status_code == 200, authorised.json
        # Renewing the lapsed incumbent now collides with its successor.
        body = assert_problem(authorise(api, hz01["id"], valid_until=until), 409)
        assert body["conflicting_point_code"] == "HZ09"


def test_periods_that_do_not_overlap_may_follow_each_other(api):
    rival = new_point(api, "HZ09", ["ZJ-HZ-XH"])
    later = str(SEEDED_UNTIL + timedelta(days=2 * 365))
    overlapping = authorise(api, rival["id"], valid_from=str(SEEDED_UNTIL), valid_until=later)
    assert_problem(overlapping, 409)
    following = authorise(api, rival["id"], valid_from=str(SEEDED_UNTIL + timedelta(days=1)), valid_until=later)
    assert following.status_code == 200, following.json
    assert following.json["is_authorised"] is False  # not yet: its period starts after HZ01's


def test_coverage_changes_of_an_active_point_are_checked_for_exclusivity(api):
    hz02 = point(api, "HZ02")
    path = f"/api/v1/service-points/{hz02['id']}"
    etag = api.get(path, as_="admin").headers["ETag"]
    coverage = [{"region_id": c["region_id"], "category": c["category"]} for c in hz02["coverage"]]
    grab = coverage + [{"region_id": region_id(api, "ZJ-HZ-XH"), "category": "water_heater"}]
    body = assert_problem(api.patch(path, as_="admin", json={"coverage": grab}, headers={"If-Match": etag}), 409)
    assert body["conflicting_point_code"] == "HZ01" and body["category"] == "water_heater"
    shrunk = api.patch(path, as_="admin", json={"coverage": coverage[:2]}, headers={"If-Match": etag})
    assert shrunk.status_code == 200, shrunk.json
    assert len(shrunk.json["coverage"]) == 2
    assert_problem(api.patch(path, as_="admin", json={"coverage": coverage}, headers={"If-Match": etag}), 412)
    city = api.patch(path, as_="admin", headers={"If-Match": shrunk.headers["ETag"]},
                     json={"coverage": [{"region_id": region_id(api, "ZJ-HZ"), "category": "water_heater"}]})
    assert_problem(city, 422, field="coverage.0.region_id")


def test_lifecycle_transitions_are_checked_and_every_change_is_in_the_history(api):
    created = new_point(api, "NB09", ["ZJ-NB-HS"])
    path = f"/api/v1/service-points/{created['id']}"
    not_active = assert_problem(api.post(f"{path}/suspend", as_="admin", json={"reason": "too early"}), 409,
                                code="invalid-transition")
    assert not_active["allowed_from"] == ["active"]
    assert_problem(api.post(f"{path}/suspend", as_="admin", json={}), 422, field="reason")
    revoked = api.post(f"{path}/revoke", as_="admin", json={"reason": "contract never signed"})
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert_problem(authorise(api, created["id"]), 409, code="invalid-transition")
    assert_problem(api.post(f"{path}/reinstate", as_="admin", json={}), 409, code="invalid-transition")
    admin_id = api.get("/api/v1/users/me", as_="admin").json["id"]
    history = api.get(path, as_="admin").json["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, "pending"), ("pending", "revoked")]
    assert history[-1]["reason"] == "contract never signed" and history[-1]["actor_id"] == admin_id


def test_authorisation_dates_are_validated(api):
    created = new_point(api, "NB09", ["ZJ-NB-HS"])
    assert_problem(authorise(api, created["id"], valid_from="2027-01-01", valid_until="2026-12-31"), 422,
                   field="valid_until")
    assert_problem(authorise(api, created["id"], valid_from="2020-01-01", valid_until="2021-01-01"), 422,
                   field="valid_until")


def test_managers_and_technicians_see_only_their_own_point(api):
    own = api.get("/api/v1/service-points/", as_="manager.hz01").json
    assert [p["code"] for p in own] == ["HZ01"]
    assert [p["code"] for p in api.get("/api/v1/service-points/", as_="tech.nb02.1").json] == ["NB02"]
    hz02 = point(api, "HZ02")
    assert_problem(api.get(f"/api/v1/service-points/{hz02['id']}", as_="manager.hz01"), 404)
    assert api.get(f"/api/v1/service-points/{hz02['id']}", as_="reviewer").status_code == 200
    assert len(api.get("/api/v1/service-points/", as_="reviewer").json) == 7


def test_only_admins_change_status_and_a_manager_edits_only_contact_details(api):
    hz01 = point(api, "HZ01")
    path = f"/api/v1/service-points/{hz01['id']}"
    assert_problem(api.post(f"{path}/suspend", as_="manager.hz01", json={"reason": "self-suspension"}), 403)
    assert_problem(api.post(f"{path}/suspend", as_="reviewer", json={"reason": "not my job"}), 403)
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    refused = api.patch(path, as_="manager.hz01", json={"categories": ["water_purifier"]}, headers={"If-Match": etag})
    assert_problem(refused, 403)
    edited = api.patch(path, as_="manager.hz01", json={"contact": {"name": "Wu Lei", "phone": "0571-8123456"}},
                       headers={"If-Match": etag})
    assert edited.status_code == 200, edited.json
    assert edited.json["contact"] == {"name": "Wu Lei", "phone": "0571-8123456"}


def test_bad_registration_input_names_the_field(api):
    body = {"code": "HZ09", "name": "X", "location": {"lat": 95, "lon": 120}, "categories": ["water_purifier"],
            "job_types": ["repair"]}
    assert_problem(api.post("/api/v1/service-points/", as_="admin", json=body), 422, field="location.lat")
    body["location"]["lat"] = 30
    body["coverage"] = [{"region_id": region_id(api, "ZJ-HZ-XH"), "category": "water_heater"}]
    assert_problem(api.post("/api/v1/service-points/", as_="admin", json=body), 422, field="coverage.0.category")
    body["coverage"] = []
    body["code"] = "HZ01"
    assert_problem(api.post("/api/v1/service-points/", as_="admin", json=body), 409)
    assert_problem(api.post("/api/v1/service-points/", as_="manager.hz01", json={**body, "code": "HZ10"}), 403)
