"""Technicians through HTTP: hiring with an account, certification expiry, the shift calendar
(weekly pattern, leave, extra shifts), ETags, and scoping by role."""

from __future__ import annotations

from datetime import date, timedelta

from tests.dates import SUITE_TODAY, next_weekday
from tests.helpers import assert_problem

MONDAY = next_weekday(0)
EXPIRED_ON = SUITE_TODAY - timedelta(days=158)  # tech.nb01.3's heater certificate (seeds/network.py)


def technician(api, username, as_="admin"):
    user = api.get("/api/v1/users/me", as_=username).json
    found = api.get(f"/api/v1/technicians/?service_point_id={user['service_point_id']}&page_size=100", as_=as_).json
    return next(t for t in found if t["username"] == username)


def point_id(api, code):
    return next(p for p in api.get(f"/api/v1/service-points/?q={code}", as_="admin").json if p["code"] == code)["id"]


def qualification(api, tech_id, category, on=None, as_="admin", job_type="repair"):
    query = f"category={category}&job_type={job_type}" + (f"&on={on}" if on else "")
    response = api.get(f"/api/v1/technicians/{tech_id}/qualification?{query}", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def test_an_expired_certification_disqualifies_from_the_day_after_expiry(api):
    tech = technician(api, "tech.nb01.3")
    heater = next(c for c in tech["certifications"] if c["category"] == "water_heater")
    assert heater["expires_on"] == str(EXPIRED_ON) and heater["valid_today"] is False
    last_day = qualification(api, tech["id"], "water_heater", str(EXPIRED_ON))
    assert last_day["qualified"] is True and last_day["certification"]["id"] == heater["id"]
    day_after = qualification(api, tech["id"], "water_heater", str(EXPIRED_ON + timedelta(days=1)))
    assert day_after["qualified"] is False and day_after["has_skill"] is True
    assert day_after["reason"] == f"water_heater certification expired on {EXPIRED_ON}"
    assert qualification(api, tech["id"], "water_heater")["qualified"] is False  # today
    assert qualification(api, tech["id"], "water_purifier")["qualified"] is True


def test_the_qualified_filter_leaves_out_the_expired_technician_and_a_renewal_brings_them_back(api):
    def qualified(on):
        listing = api.get(f"/api/v1/technicians/?category=water_heater&job_type=repair&qualified_on={on}",
                          as_="manager.nb01").json
        return {t["username"] for t in listing}

    recently, issued = SUITE_TODAY - timedelta(days=12), SUITE_TODAY - timedelta(days=34)
    assert qualified(EXPIRED_ON) == {"tech.nb01.1", "tech.nb01.3", "tech.nb01.5"}
    assert qualified(recently) == {"tech.nb01.1", "tech.nb01.5"}
    tech = technician(api, "tech.nb01.3")
    renewed = api.post(f"/api/v1/technicians/{tech['id']}/certifications", as_="manager.nb01", json={
        "name": "Water heater service certificate", "category": "water_heater",
        "issued_on": str(issued), "expires_on": str(issued + timedelta(days=730))})
    assert renewed.status_code == 201, renewed.json
    assert qualified(recently) == {"tech.nb01.1", "tech.nb01.3", "tech.nb01.5"}
    assert_problem(api.get(f"/api/v1/technicians/?qualified_on={recently}", as_="admin"), 422, field="qualified_on")
    backwards = api.post(f"/api/v1/technicians/{tech['id']}/certifications", as_="manager.nb01", json={
        "name": "x", "category": "water_heater", "issued_on": str(issued), "expires_on": str(issued - timedelta(days=1))})
    assert_problem(backwards, 422, field="expires_on")


def test_the_shift_calendar_applies_the_weekly_pattern_leave_and_extra_shifts(api):
    assert MONDAY.weekday() == 0
    tech = technician(api, "tech.hz01.1")  # Monday to Friday 08:30-17:30, no Saturday shift
    path = f"/api/v1/technicians/{tech['id']}/shift-exceptions"
    for body in (
        {"on": str(MONDAY + timedelta(days=1)), "kind": "leave", "reason": "annual leave"},
        {"on": str(MONDAY + timedelta(days=2)), "kind": "leave", "start": "12:00", "end": "14:00",
         "reason": "dentist"},
        {"on": str(MONDAY + timedelta(days=5)), "kind": "extra", "start": "09:00", "end": "13:00",
         "reason": "weekend campaign"},
    ):
        created = api.post(path, as_="manager.hz01", json=body)
        assert created.status_code == 201, created.json

    week = api.get(f"/api/v1/technicians/{tech['id']}/shifts?from={MONDAY}&to={MONDAY + timedelta(days=6)}",
                   as_="tech.hz01.1")
    assert week.status_code == 200, week.json
    windows = {day["date"]: [(w["start"][:5], w["end"][:5]) for w in day["windows"]] for day in week.json}
    day = [str(MONDAY + timedelta(days=n)) for n in range(7)]
    assert windows == {
        day[0]: [("08:30", "17:30")],
        day[1]: [],
        day[2]: [("08:30", "12:00"), ("14:00", "17:30")],
        day[3]: [("08:30", "17:30")],
        day[4]: [("08:30", "17:30")],
        day[5]: [("09:00", "13:00")],
        day[6]: [],
    }
    by_day = {entry["date"]: entry for entry in week.json}
    assert by_day[day[2]]["minutes"] == 420 and by_day[day[1]]["working"] is False
    assert [e["reason"] for e in by_day[day[5]]["exceptions"]] == ["weekend campaign"]
    listed = api.get(f"{path}?from={MONDAY}&to={MONDAY + timedelta(days=6)}", as_="manager.hz01")
    assert len(listed.json) == 3 and '"total": 3' in listed.headers["X-Pagination"]


def test_cancelling_leave_restores_the_day(api):
    tech = technician(api, "tech.hz01.1")
    path = f"/api/v1/technicians/{tech['id']}/shift-exceptions"
    leave = api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "leave"}).json
    day = f"/api/v1/technicians/{tech['id']}/shifts?from={MONDAY}&to={MONDAY}"
    assert api.get(day, as_="manager.hz01").json[0]["windows"] == []
    assert api.delete(f"{path}/{leave['id']}", as_="manager.hz01").status_code == 204
    assert api.get(day, as_="manager.hz01").json[0]["minutes"] == 540


def test_shift_exceptions_are_validated(api):
    tech = technician(api, "tech.hz01.2")
    path = f"/api/v1/technicians/{tech['id']}/shift-exceptions"
    assert_problem(api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "extra"}), 422, field="start")
    assert_problem(api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "leave", "start": "14:00",
                                                            "end": "12:00"}), 422, field="end")
    assert_problem(api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "leave", "start": "14:00"}),
                   422, field="end")
    assert api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "leave", "start": "09:00",
                                                    "end": "12:00"}).status_code == 201
    clash = api.post(path, as_="manager.hz01", json={"on": str(MONDAY), "kind": "leave", "start": "11:00",
                                                     "end": "13:00"})
    assert_problem(clash, 409)
    calendar = f"/api/v1/technicians/{tech['id']}/shifts?from={MONDAY}&to={MONDAY + timedelta(days=70)}"
    assert_problem(api.get(calendar, as_="manager.hz01"), 422, field="to")


def test_a_manager_hires_a_technician_with_a_new_login_account(api, client):
    created = api.post("/api/v1/technicians/", as_="manager.hz01", json={
        "username": "tech.hz01.new", "password": "s3cret-pass", "name": "Sun Bo", "phone": "13900001111",
        "hired_on": "2026-11-01", "start_location": "home", "home_location": {"lat": 30.26, "lon": 120.12},
        "skills": [{"category": "water_purifier", "job_type": "install"},
                   {"category": "water_purifier", "job_type": "repair"}],
        "certifications": [{"name": "Purifier certificate", "category": "water_purifier",
                            "issued_on": "2026-10-01", "expires_on": "2028-09-30"}],
        "weekly_shifts": [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)],
    })
    assert created.status_code == 201, created.json
    body = created.json
    assert body["username"] == "tech.hz01.new" and body["service_point_code"] == "HZ01"
    assert body["depot"] == {"lat": 30.26, "lon": 120.12}
    assert len(body["skills"]) == 2 and len(body["weekly_shifts"]) == 5
    account = api.get(f"/api/v1/users/{body['user_id']}", as_="manager.hz01").json
    assert account["role"] == "technician" and account["service_point_id"] == point_id(api, "HZ01")
    login = client.post("/api/v1/auth/token", json={"username": "tech.hz01.new", "password": "s3cret-pass"})
    assert login.status_code == 200
    me = client.get(f"/api/v1/technicians/{body['id']}",
                    headers={"Authorization": f"Bearer {login.json['access_token']}"})
    assert me.status_code == 200 and me.json["name"] == "Sun Bo"


def test_hiring_rules_name_the_field(api):
    base = {"name": "Ma Jun", "hired_on": "2026-11-01"}
    assert_problem(api.post("/api/v1/technicians/", as_="admin", json={**base, "username": "tech.x", "password":
                                                                      "s3cret-pass"}), 422, field="service_point_id")
    assert_problem(api.post("/api/v1/technicians/", as_="manager.hz01", json=base), 422, field="username")
    assert_problem(api.post("/api/v1/technicians/", as_="manager.hz01", json={
        **base, "username": "tech.hz01.1", "password": "s3cret-pass"}), 409)
    assert_problem(api.post("/api/v1/technicians/", as_="manager.hz01", json={
        **base, "username": "tech.hz01.x", "password": "s3cret-pass", "start_location": "home"}),
        422, field="home_location")
    assert_problem(api.post("/api/v1/technicians/", as_="manager.hz01", json={
        **base, "username": "tech.hz01.x", "password": "s3cret-pass",
        "weekly_shifts": [{"weekday": 0, "start": "09:00", "end": "12:00"},
                          {"weekday": 0, "start": "13:00", "end": "18:00"}]}), 422, field="weekly_shifts.1.weekday")
    assert_problem(api.post("/api/v1/technicians/", as_="tech.hz01.1", json={
        **base, "username": "tech.hz01.x", "password": "s3cret-pass"}), 403)


def test_an_existing_account_is_linked_once(api):
    nb02 = point_id(api, "NB02")
    account = api.post("/api/v1/users/", as_="admin", json={"username": "tech.nb02.late", "password": "s3cret-pass",
                                                            "role": "technician", "service_point_id": nb02}).json
    body = {"user_id": account["id"], "service_point_id": nb02, "name": "Guo Tao", "hired_on": "2026-11-20"}
    linked = api.post("/api/v1/technicians/", as_="admin", json=body)
    assert linked.status_code == 201 and linked.json["username"] == "tech.nb02.late"
    assert_problem(api.post("/api/v1/technicians/", as_="admin", json=body), 409)
    foreign = {**body, "service_point_id": point_id(api, "NB01")}
    assert_problem(api.post("/api/v1/technicians/", as_="admin", json=foreign), 422, field="user_id")


def test_patch_replaces_skills_and_shifts_and_honours_if_match(api):
    tech = technician(api, "tech.hz01.2")
    path = f"/api/v1/technicians/{tech['id']}"
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    assert_problem(api.patch(path, as_="manager.hz01", json={"phone": "1"}), 428)
    changed = api.patch(path, as_="manager.hz01", headers={"If-Match": etag}, json={
        "skills": [{"category": "water_purifier", "job_type": "maintenance"}],
        "weekly_shifts": [{"weekday": 0, "start": "07:00", "end": "15:00"},
                          {"weekday": 6, "start": "10:00", "end": "16:00"}]})
    assert changed.status_code == 200, changed.json
    assert changed.json["skills"] == [{"category": "water_purifier", "job_type": "maintenance"}]
    assert [(s["weekday"], s["start"][:5]) for s in changed.json["weekly_shifts"]] == [(0, "07:00"), (6, "10:00")]
    assert changed.headers["ETag"] != etag
    assert_problem(api.patch(path, as_="manager.hz01", headers={"If-Match": etag}, json={"phone": "2"}), 412)
    sunday = MONDAY + timedelta(days=6)
    day = api.get(f"{path}/shifts?from={sunday}&to={sunday}", as_="manager.hz01").json[0]
    assert day["windows"] == [{"start": "10:00:00", "end": "16:00:00"}]


def test_deactivating_a_technician_locks_their_account(api, client):
    tech = technician(api, "tech.hz01.3")
    api.token("tech.hz01.3")
    path = f"/api/v1/technicians/{tech['id']}"
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    off = api.patch(path, as_="manager.hz01", headers={"If-Match": etag}, json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False
    assert_problem(api.get(path, as_="tech.hz01.3"), 401)
    assert client.post("/api/v1/auth/token", json={"username": "tech.hz01.3", "password": "demo1234"}).status_code == 401


def test_managers_manage_only_their_own_point_and_technicians_see_only_themselves(api):
    foreign = technician(api, "tech.nb01.1")
    own = technician(api, "tech.hz01.1")
    listing = api.get("/api/v1/technicians/?page_size=100", as_="manager.hz01")
    assert {t["username"] for t in listing.json} == {f"tech.hz01.{n}" for n in range(1, 6)}
    assert '"total": 5' in listing.headers["X-Pagination"]
    assert api.get(f"/api/v1/technicians/?service_point_id={point_id(api, 'NB01')}", as_="manager.hz01").json == []
    assert_problem(api.get(f"/api/v1/technicians/{foreign['id']}", as_="manager.hz01"), 404)
    assert_problem(api.patch(f"/api/v1/technicians/{foreign['id']}", as_="manager.hz01", json={"phone": "1"},
                             headers={"If-Match": '"x"'}), 404)
    assert_problem(api.post(f"/api/v1/technicians/{foreign['id']}/shift-exceptions", as_="manager.hz01",
                            json={"on": str(MONDAY), "kind": "leave"}), 404)
    assert api.get(f"/api/v1/technicians/{own['id']}", as_="tech.hz01.1").status_code == 200
    assert_problem(api.get(f"/api/v1/technicians/{technician(api, 'tech.hz01.2')['id']}", as_="tech.hz01.1"), 404)
    assert_problem(api.get("/api/v1/technicians/", as_="tech.hz01.1"), 403)
    assert_problem(api.post(f"/api/v1/technicians/{own['id']}/shift-exceptions", as_="tech.hz01.1",
                            json={"on": str(MONDAY), "kind": "leave"}), 403)
    etag = api.get(f"/api/v1/technicians/{own['id']}", as_="reviewer").headers["ETag"]
    assert_problem(api.patch(f"/api/v1/technicians/{own['id']}", as_="reviewer", json={"phone": "1"},
                             headers={"If-Match": etag}), 403)
    move = api.patch(f"/api/v1/technicians/{own['id']}", as_="manager.hz01",
                     json={"service_point_id": point_id(api, "HZ02")},
                     headers={"If-Match": api.get(f"/api/v1/technicians/{own['id']}", as_="manager.hz01").headers["ETag"]})
    assert_problem(move, 403)


def test_an_admin_moves_a_technician_and_their_account_to_another_point(api):
    tech = technician(api, "tech.hz01.4")
    path = f"/api/v1/technicians/{tech['id']}"
    hz02 = point_id(api, "HZ02")
    moved = api.patch(path, as_="admin", json={"service_point_id": hz02},
                      headers={"If-Match": api.get(path, as_="admin").headers["ETag"]})
    assert moved.status_code == 200 and moved.json["service_point_code"] == "HZ02"
    assert api.get("/api/v1/users/me", as_="tech.hz01.4").json["service_point_id"] == hz02
    assert api.get(path, as_="manager.hz02").status_code == 200
    assert_problem(api.get(path, as_="manager.hz01"), 404)
