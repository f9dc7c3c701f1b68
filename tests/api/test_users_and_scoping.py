"""Role and point scoping: foreign objects answer 404, never 403."""

from __future__ import annotations

from tests.helpers import assert_problem


def user_id(api, username):
    return api.get("/api/v1/users/me", as_=username).json["id"]


def test_a_manager_gets_404_for_another_points_user(api):
    foreign = user_id(api, "tech.nb01.1")
    assert_problem(api.get(f"/api/v1/users/{foreign}", as_="manager.hz01"), 404, code="not-found")
    own = user_id(api, "tech.hz01.1")
    assert api.get(f"/api/v1/users/{own}", as_="manager.hz01").status_code == 200
    assert api.get(f"/api/v1/users/{foreign}", as_="admin").status_code == 200


def test_a_technician_sees_only_their_own_account(api):
    colleague = user_id(api, "tech.hz01.2")
    assert_problem(api.get(f"/api/v1/users/{colleague}", as_="tech.hz01.1"), 404)
    assert_problem(api.get("/api/v1/users/", as_="tech.hz01.1"), 403, code="forbidden")


def test_user_lists_are_scoped_and_paginated(api):
    response = api.get("/api/v1/users/?page_size=5", as_="manager.hz01")
    assert response.status_code == 200
    assert len(response.json) == 5
    usernames = {u["username"] for u in api.get("/api/v1/users/?page_size=100", as_="manager.hz01").json}
    assert usernames == {"manager.hz01", *(f"tech.hz01.{n}" for n in range(1, 6))}
    assert '"total": 6' in response.headers["X-Pagination"]


def test_manager_creates_technicians_of_their_own_point_only(api):
    created = api.post("/api/v1/users/", as_="manager.hz01",
                       json={"username": "tech.hz01.new", "password": "secret-pass", "role": "technician"})
    assert created.status_code == 201, created.json
    assert created.json["service_point_id"] == api.get("/api/v1/users/me", as_="manager.hz01").json["service_point_id"]
    manager = api.post("/api/v1/users/", as_="manager.hz01",
                       json={"username": "boss", "password": "secret-pass", "role": "admin"})
    assert_problem(manager, 403)


def test_a_manager_naming_another_point_for_a_new_account_is_refused(api, session):
    own = api.get("/api/v1/users/me", as_="manager.hz01").json["service_point_id"]
    foreign = api.get("/api/v1/users/me", as_="manager.nb01").json["service_point_id"]
    refused = api.post("/api/v1/users/", as_="manager.hz01", json={
        "username": "tech.elsewhere", "password": "secret-pass", "role": "technician",
        "service_point_id": foreign})
    assert_problem(refused, 403)
    usernames = {u["username"] for u in api.get("/api/v1/users/?page_size=100", as_="admin").json}
    assert "tech.elsewhere" not in usernames
    named_own = api.post("/api/v1/users/", as_="manager.hz01", json={
        "username": "tech.hz01.named", "password": "secret-pass", "role": "technician",
        "service_point_id": own})
    assert named_own.status_code == 201 and named_own.json["service_point_id"] == own


def test_technician_account_needs_a_point_and_duplicate_names_conflict(api):
    no_point = api.post("/api/v1/users/", as_="admin", json={"username": "lonely", "password": "secret-pass",
                                                            "role": "technician"})
    assert_problem(no_point, 422, field="service_point_id")
    taken = api.post("/api/v1/users/", as_="admin", json={"username": "reviewer", "password": "secret-pass",
                                                         "role": "reviewer"})
    assert_problem(taken, 409)
