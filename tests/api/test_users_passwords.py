"""Passwords through HTTP: a person changes their own (the current one checked; every session of the
account ends); HQ sets anyone's, a manager their point's technicians' (a new or imported technician's
first password); nobody else's, and never a machine client's."""

from __future__ import annotations

from tests.helpers import assert_problem

OWN = "/api/v1/users/me/password"


def _new_technician(api, username: str, as_: str = "manager.hz01") -> dict:
    created = api.post("/api/v1/users/", as_=as_, json={"username": username, "password": "start-1234",
                                                        "role": "technician"})
    assert created.status_code == 201, created.json
    return created.json


def _sign_in(api, username: str, password: str):
    return api.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_a_person_changes_their_own_password_and_every_session_ends(api):
    _new_technician(api, "tech.pw.one")
    token = _sign_in(api, "tech.pw.one", "start-1234").json["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert_problem(api.post(OWN, headers=bearer, json={"current_password": "wrong-one", "new_password": "n3w-pass-word"}),
                   422, field="current_password")
    assert_problem(api.post(OWN, headers=bearer, json={"current_password": "start-1234", "new_password": "short"}),
                   422, field="new_password")
    assert_problem(api.post(OWN, headers=bearer, json={"current_password": "start-1234",
                                                       "new_password": "start-1234"}), 422, field="new_password")
    assert_problem(api.post(OWN, json={"current_password": "start-1234", "new_password": "n3w-pass-word"}), 401)
    changed = api.post(OWN, headers=bearer, json={"current_password": "start-1234", "new_password": "n3w-pass-word"})
    assert changed.status_code == 204, changed.json
    assert_problem(api.get("/api/v1/users/me", headers=bearer), 401)  # the old session ended
    assert_problem(_sign_in(api, "tech.pw.one", "start-1234"), 401)
    assert _sign_in(api, "tech.pw.one", "n3w-pass-word").status_code == 200


def test_hq_and_the_points_manager_set_a_technicians_password_nobody_else_does(api):
    user = _new_technician(api, "tech.pw.two")
    url = f"/api/v1/users/{user['id']}/password"
    assert_problem(api.post(url, as_="manager.nb01", json={"new_password": "other-point-1"}), 404)
    assert_problem(api.post(url, as_="tech.hz01.1", json={"new_password": "colleague-12"}), 403)
    assert_problem(api.post(url, as_="manager.hz01", json={}), 422, field="new_password")
    assert api.post(url, as_="manager.hz01", json={"new_password": "first-day-2468"}).status_code == 204
    assert _sign_in(api, "tech.pw.two", "first-day-2468").status_code == 200
    assert api.post(url, as_="admin", json={"new_password": "hq-reset-97531"}).status_code == 204
    assert _sign_in(api, "tech.pw.two", "hq-reset-97531").status_code == 200

    manager = next(u for u in api.get("/api/v1/users/?role=manager&page_size=100", as_="admin").json
                   if u["username"] == "manager.hz01")
    assert_problem(api.post(f"/api/v1/users/{manager['id']}/password", as_="manager.hz01",
                            json={"new_password": "self-service-1"}), 403)  # their own goes through /me
    assert_problem(api.post("/api/v1/users/00000000-0000-0000-0000-000000000000/password", as_="admin",
                            json={"new_password": "nobody-at-all"}), 404)
