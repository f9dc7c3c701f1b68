"""The console over HTTP without a browser: sign-in, the session cookie's flags, CSRF on every
form, the same scoping as the API (another point's pages are 404), and the language switch."""

from __future__ import annotations

import re

import pytest

from tests.dates import SUITE_TODAY

PASSWORD = "demo1234"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    page = client.get("/console/sign-in").get_data(as_text=True)
    return client.post("/console/sign-in", data={"csrf_token": csrf_of(page), "username": username,
                                                 "password": password}, **extra)


def point_id(api, code: str) -> str:
    return next(p["id"] for p in api.get("/api/v1/service-points?page_size=100", as_="admin").json
                if p["code"] == code)


@pytest.fixture
def console(client):
    return client


def test_pages_need_a_session(console):
    answer = console.get("/console/board")
    assert answer.status_code == 302 and "/console/sign-in?next=" in answer.headers["Location"]


def test_sign_in_sets_a_secure_httponly_samesite_cookie(console):
    answer = sign_in(console, "manager.hz01")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/")
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("dispatch_console="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert console.get("/console/").headers["Location"].endswith("/console/board")


def test_a_wrong_password_is_refused(console):
    answer = sign_in(console, "manager.hz01", "wrong-password")
    assert answer.status_code == 401
    assert console.get("/console/board").status_code == 302  # still signed out


def test_a_form_without_its_csrf_token_is_refused(console, api):
    sign_in(console, "manager.hz01")
    hz01 = point_id(api, "HZ01")
    answer = console.post(f"/console/points/{hz01}/plans", data={"day": SUITE_TODAY.isoformat()})
    assert answer.status_code == 400
    answer = console.post(f"/console/points/{hz01}/plans", data={"day": SUITE_TODAY.isoformat(),
                                                                   "csrf_token": "forged"})
    assert answer.status_code == 400
    assert api.get(f"/api/v1/service-points/{hz01}/plans", as_="manager.hz01").json == []


def test_sign_in_itself_needs_the_csrf_token(console):
    answer = console.post("/console/sign-in", data={"username": "manager.hz01", "password": PASSWORD})
    assert answer.status_code == 400


def test_another_points_manager_gets_404_on_every_page(console, api):
    hz01 = point_id(api, "HZ01")
    job = api.get(f"/api/v1/jobs?service_point_id={hz01}&page_size=1", as_="manager.hz01").json[0]
    sign_in(console, "manager.hz02")
    for path in (f"/console/points/{hz01}/board", f"/console/points/{hz01}/stock", f"/console/jobs/{job['id']}"):
        assert console.get(path).status_code == 404, path
    page = sign_in(console, "manager.hz02") and console.get("/console/board", follow_redirects=True)
    assert page.status_code == 200 and "HZ02" in page.get_data(as_text=True)


def test_the_api_still_wants_a_token_and_the_console_cookie_is_no_token(console, api):
    sign_in(console, "admin")
    assert console.get("/api/v1/jobs").status_code == 401


def test_zh_cn_by_default_and_english_on_request(console):
    sign_in(console, "manager.hz01")
    page = console.get("/console/board", follow_redirects=True).get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "调度看板" in page
    console.post("/console/language", data={"csrf_token": csrf_of(page), "locale": "en", "next": "/console/board"})
    page = console.get("/console/board", follow_redirects=True).get_data(as_text=True)
    assert 'lang="en"' in page and "Dispatch board" in page


def test_a_deactivated_user_is_signed_out_at_the_next_request(console, session):
    from sqlalchemy import update

    from dispatch.auth.models import User

    sign_in(console, "manager.hz01")
    assert console.get("/console/board").status_code == 302  # to the point's board
    session.execute(update(User).where(User.username == "manager.hz01").values(token_version=User.token_version + 1))
    session.commit()
    answer = console.get("/console/board")
    assert answer.status_code == 302 and "/console/sign-in" in answer.headers["Location"]


def test_sign_in_redirects_only_inside_the_console(console):
    page = console.get("/console/sign-in").get_data(as_text=True)
    answer = console.post("/console/sign-in?next=//evil.example/x", data={
        "csrf_token": csrf_of(page), "username": "manager.hz01", "password": PASSWORD})
    assert answer.headers["Location"].endswith("/console/")


def test_a_manager_works_the_worklist_page_and_another_point_cannot_touch_it(console, api):
    items = api.get("/api/v1/worklist-items/?kind=certificate_expiry", as_="manager.hz01").json
    item = items[0]
    sign_in(console, "manager.hz02")
    page = console.get("/console/worklists").get_data(as_text=True)
    assert item["id"] not in page
    answer = console.post(f"/console/worklists/{item['id']}/done",
                          data={"csrf_token": csrf_of(page), "outcome": "handled"})
    assert answer.status_code == 404
    console.post("/console/sign-out", data={"csrf_token": csrf_of(page)})

    sign_in(console, "manager.hz01")
    page = console.get("/console/worklists?kind=certificate_expiry").get_data(as_text=True)
    chinese = api.get(f"/api/v1/worklist-items/{item['id']}", as_="manager.hz01",
                      headers={"Accept-Language": "zh-CN"}).json["title"]
    assert item["id"] in page and chinese in page and item["title"] not in page and "证书即将到期" in page
    refused = console.post(f"/console/worklists/{item['id']}/done", follow_redirects=True,
                           data={"csrf_token": csrf_of(page), "outcome": "reached"})
    assert "outcome" in refused.get_data(as_text=True)  # the service's reason, flashed
    done = console.post(f"/console/worklists/{item['id']}/done", follow_redirects=True,
                        data={"csrf_token": csrf_of(page), "outcome": "handled", "note": "course booked",
                              "next": "/console/worklists?kind=certificate_expiry"})
    assert "已完成" in done.get_data(as_text=True) and item["id"] not in done.get_data(as_text=True)
    shown = api.get(f"/api/v1/worklist-items/{item['id']}", as_="manager.hz01").json
    assert (shown["status"], shown["outcome"], shown["note"]) == ("done", "handled", "course booked")
