"""Parser abuse answers a 4xx problem, never a 500, and nothing of it is stored: JSON nested
tens of thousands of levels deep, lone surrogates, NUL characters (refused on SQLite as on
PostgreSQL), duplicated keys, numbers no column holds. One guard (dispatch/api/request_guard.py)
checks every request's JSON body, query string and form fields, whatever the route."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from dispatch.network.models import Customer
from tests.helpers import assert_problem

JSON = {"Content-Type": "application/json"}


def customer(**overrides) -> dict:
    return {"name": "Hostile Input", "phone": "13912345678", "address": "1 Parser Road"} | overrides


def post_raw(api, path: str, text: str, as_: str | None = "manager.hz01", content_type: str = "application/json"):
    return api.post(path, as_=as_, data=text.encode("utf-8", "surrogatepass"), headers={"Content-Type": content_type})


def customers(session) -> int:
    return session.scalar(select(func.count()).select_from(Customer))


@pytest.mark.parametrize("depth", [50_000, 100_000])
def test_json_nested_tens_of_thousands_of_levels_deep_is_a_400(api, depth):
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        assert_problem(post_raw(api, "/api/v1/customers/", text), 400)


def test_json_nested_deeper_than_the_api_needs_is_refused_before_any_schema_runs(api):
    deep = {"a": 1}
    for _ in range(80):
        deep = {"a": deep}
    body = assert_problem(post_raw(api, "/api/v1/customers/", json.dumps(customer(address=deep))), 400)
    assert "nested" in body["detail"] or "nested" in json.dumps(body["errors"])


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udc00y", "\\ud800\\ud800"])
def test_a_lone_surrogate_in_any_string_is_a_422_naming_the_field(api, session, escape):
    before = customers(session)
    text = json.dumps(customer(name="NAME")).replace("NAME", escape)
    assert_problem(post_raw(api, "/api/v1/customers/", text), 422, field="name")
    nested = json.dumps(customer(location={"lat": 30.2, "lon": 120.1}, address="ADDR")).replace("ADDR", escape)
    assert_problem(post_raw(api, "/api/v1/customers/", nested), 422, field="address")
    assert customers(session) == before


def test_a_surrogate_pair_is_an_ordinary_character(api):
    text = json.dumps(customer(name="NAME", phone="13912340001")).replace("NAME", "\\ud83d\\ude00 Smile")
    response = post_raw(api, "/api/v1/customers/", text)
    assert response.status_code == 201, response.json
    assert response.json["name"] == "\U0001F600 Smile"


def test_a_nul_character_is_refused_on_every_database(api, session):
    before = customers(session)
    assert_problem(api.post("/api/v1/customers/", as_="manager.hz01", json=customer(name="Null\u0000Byte")),
                   422, field="name")
    assert_problem(api.post("/api/v1/customers/", as_="manager.hz01",
                            json=customer(address="ok", email="a\u0000@example.com")), 422, field="email")
    assert customers(session) == before  # SQLite would have stored it


def test_a_nul_character_in_a_key_in_a_list_or_in_the_query_string_is_refused(api):
    body = assert_problem(post_raw(api, "/api/v1/customers/", json.dumps(customer() | {"na\u0000me": "x"})), 422)
    assert body["errors"]
    listed = {"overrides": [{"unit_price": "1.00", "reason": "fine"}, {"unit_price": "1.00", "reason": "b\u0000d"}]}
    job = uuid.uuid4()
    assert_problem(api.put(f"/api/v1/jobs/{job}/bill/overrides", as_="manager.hz01", json=listed),
                   422, field="overrides.1.reason")
    assert_problem(api.get("/api/v1/customers/?q=ab%00cd", as_="manager.hz01"), 422, field="q")
    assert_problem(api.get("/api/v1/units/AB%00CD", as_="manager.hz01"), 422)


def test_duplicated_keys_are_a_400_naming_the_key(api, session):
    before = customers(session)
    text = '{"name": "First", "name": "Second", "phone": "13912345678", "address": "x"}'
    assert_problem(post_raw(api, "/api/v1/customers/", text), 400, field="name")
    nested = '{"name": "N", "phone": "13912345678", "location": {"lat": 30.2, "lat": 31.0, "lon": 120.1}}'
    assert_problem(post_raw(api, "/api/v1/customers/", nested), 400, field="location.lat")
    assert customers(session) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 5000])
def test_numbers_no_column_holds_are_a_422_naming_the_field(api, literal):
    text = '{"name": "N", "phone": "13912345678", "location": {"lat": LIT, "lon": 120.1}}'.replace("LIT", literal)
    assert_problem(post_raw(api, "/api/v1/customers/", text), 422, field="location.lat")


def test_the_public_login_and_the_sync_push_are_guarded_too(api):
    login = '{"username": "\\ud800", "password": "demo1234"}'
    assert_problem(post_raw(api, "/api/v1/auth/token", login, as_=None), 422, field="username")
    push = '{"device_id": "%s", "mutations": %s}' % (uuid.uuid4(), "[" * 60_000 + "]" * 60_000)
    assert_problem(post_raw(api, "/api/v1/sync/mutations", push, as_="tech.hz01.1"), 400)
    note = {"device_id": str(uuid.uuid4()), "mutations": [
        {"id": 1, "kind": "note", "payload": {"job_id": str(uuid.uuid4()), "text": "a\u0000b"}}]}
    assert_problem(api.post("/api/v1/sync/mutations", as_="tech.hz01.1", json=note), 422,
                   field="mutations.0.payload.text")


def test_a_json_media_type_with_parameters_or_a_suffix_is_guarded_the_same_way(api):
    text = json.dumps(customer(name="NAME")).replace("NAME", "\\ud800")
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert post_raw(api, "/api/v1/customers/", text, content_type=content_type).status_code in {400, 415, 422}


def test_invalid_utf8_bytes_are_a_400(api):
    response = api.post("/api/v1/customers/", as_="manager.hz01", data=b'{"name": "\xff\xfe"}', headers=JSON)
    assert_problem(response, 400)
