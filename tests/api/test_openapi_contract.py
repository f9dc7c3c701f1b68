"""The OpenAPI document as code generators read it (issue 24): operation ids, named enums, the 3.0
nullable form, open response objects, documented headers (and the headers actually sent),
media types, deprecation, and examples that validate against their schemas."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from openapi_schema_validator import OAS30Validator

from dispatch.api import contract
from dispatch.app import create_app
from tests.dates import SUITE_TODAY

METHODS = contract.HTTP_METHODS


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def walk(node, where=""):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def test_every_operation_has_a_unique_readable_operation_id_and_a_description(spec):
    seen = {}
    for method, path, operation in operations(spec):
        key = (method.upper(), path)
        assert key in contract.OPERATION_IDS, f"give {key} an operationId in dispatch/api/contract.py"
        operation_id = operation["operationId"]
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id), operation_id
        assert operation_id not in seen, f"{operation_id} names both {seen.get(operation_id)} and {key}"
        seen[operation_id] = key
        assert operation.get("description"), f"{key} has no description"
    stale = set(contract.OPERATION_IDS) - set(seen.values())
    assert not stale, f"operationIds for routes that no longer exist: {sorted(stale)}"


def test_every_enum_is_one_named_component_referenced_where_it_is_used(spec):
    components = spec["components"]["schemas"]
    inline = [where for where, node in walk(spec) if "enum" in node and "x-enum" not in node]
    # What may stay inline: the one-value tags of the sync mutation union (its discriminator) and
    # path parameters (their values come from the route's converter).
    allowed = [w for w in inline if w.endswith("/properties/kind") and "Mutation" in w
               or re.search(r"/parameters/\d+/schema$", w)]
    assert sorted(set(inline) - set(allowed)) == []
    status = components["JobStatus"]
    assert status["type"] == "string" and "completed" in status["enum"]
    job = components[spec["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]["200"]["content"]
                     ["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert job["properties"]["status"] == {"$ref": "#/components/schemas/JobStatus"} or \
        job["properties"]["status"].get("allOf") == [{"$ref": "#/components/schemas/JobStatus"}]
    status_filter = next(p for p in spec["paths"]["/api/v1/jobs/"]["get"]["parameters"] if p["name"] == "status")
    assert "JobStatus" in json.dumps(status_filter["schema"])


def test_nullable_references_use_allof_with_nullable_and_responses_are_open(spec):
    for where, node in walk(spec):
        assert "anyOf" not in node, f"{where}: anyOf wrapper (generators read it as an empty object)"
        assert node.get("additionalProperties") is not False, f"{where}: closed to new fields"
    location = spec["components"]["schemas"]["JobCreate"]["properties"]["location"]
    assert location["allOf"] == [{"$ref": "#/components/schemas/Location"}] and location["nullable"] is True


def test_every_property_says_what_it_holds(spec):
    """Computed fields are typed too (``metadata["returns"]``); only a checklist step's value is any
    JSON (a reading, a choice, text, true/false or a name, as the step asks)."""
    untyped = sorted(f"{name}.{prop}" for name, schema in spec["components"]["schemas"].items()
                     for prop, value in schema.get("properties", {}).items()
                     if not {"type", "$ref", "allOf", "oneOf"} & set(value))
    assert untyped == ["ChecklistStepPayload.value", "RevisionReview.value", "StepResult.value", "StepSubmit.value"]
    dispatch = spec["components"]["schemas"]["JobDetail"]["properties"]["dispatch"]
    assert dispatch["allOf"] == [{"$ref": "#/components/schemas/Dispatch"}]


def test_location_is_documented_on_the_creates_that_send_it(api, spec):
    created = spec["paths"]["/api/v1/customers/"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]
    response = api.post("/api/v1/customers/", as_="admin",
                        json={"name": "Contract Test", "phone": "+86 139 0000 2424"})
    assert response.status_code == 201 and response.headers["Location"].endswith(response.json["id"])
    # and not on a create that does not send one
    assert "Location" not in (spec["paths"]["/api/v1/stock/adjustments"]["post"]["responses"]["201"]
                              .get("headers", {}))


def test_paginated_lists_send_and_document_an_rfc8288_link_header(api, spec):
    assert "Link" in spec["paths"]["/api/v1/jobs/"]["get"]["responses"]["200"]["headers"]
    response = api.get("/api/v1/jobs/?page=2&page_size=3&type=repair", as_="admin")
    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total_pages"] >= 3, "the demo has enough repair jobs for three pages"
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"]))
    assert set(links) == {"first", "prev", "next", "last"}
    assert "page=3" in links["next"] and "page=1" in links["prev"] and "type=repair" in links["next"]
    assert f"page={pagination['last_page']}" in links["last"]
    assert api.get(links["next"], as_="admin").json != response.json
    first = api.get("/api/v1/jobs/?page=1&page_size=3&type=repair", as_="admin").headers["Link"]
    assert 'rel="prev"' not in first and 'rel="next"' in first


def test_pictures_and_downloads_declare_their_media_types(spec):
    plan_map = spec["paths"]["/api/v1/plans/{plan_id}/map.svg"]["get"]["responses"]["200"]
    assert list(plan_map["content"]) == ["image/svg+xml"]
    content = spec["paths"]["/api/v1/attachments/{attachment_id}/content"]["get"]["responses"]["200"]
    assert set(content["content"]) == {"image/jpeg", "image/png"}


def test_a_retiring_operation_is_marked_and_answers_with_deprecation_and_sunset(
        monkeypatch, settings, session_factory):
    retirement = contract.Retirement(announced=SUITE_TODAY, sunset=date(SUITE_TODAY.year + 1, 6, 30),
                                     successor="listJobs")
    monkeypatch.setitem(contract.DEPRECATED, ("GET", "/api/v1/users/me"), retirement)
    client = create_app(settings, session_factory=session_factory).test_client()
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/users/me"]["get"]
    assert operation["deprecated"] is True
    assert {"Deprecation", "Sunset"} <= set(operation["responses"]["200"]["headers"])
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo1234"}).json
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200
    assert re.fullmatch(r"@\d+", response.headers["Deprecation"])
    assert response.headers["Sunset"].endswith(f"30 Jun {SUITE_TODAY.year + 1} 00:00:00 GMT")
    assert 'rel="successor-version"' in response.headers["Link"]
    assert "Deprecation" not in client.get("/healthz").headers


def _validator(spec, schema) -> OAS30Validator:
    return OAS30Validator(dict(schema, components=spec["components"]))


@pytest.mark.parametrize("operation_id", sorted(contract.EXAMPLES))
def test_every_example_validates_against_its_schema(spec, operation_id):
    found = [operation for _, _, operation in operations(spec) if operation["operationId"] == operation_id]
    assert len(found) == 1, f"no operation {operation_id}"
    operation = found[0]
    examples = contract.EXAMPLES[operation_id]
    if "request" in examples:
        media = operation["requestBody"]["content"]["application/json"]
        assert media["example"] == examples["request"]
        errors = [e.message for e in _validator(spec, media["schema"]).iter_errors(media["example"])]
        assert errors == []
    for status, example in examples.get("responses", {}).items():
        media = operation["responses"][status]["content"]["application/json"]
        errors = [e.message for e in _validator(spec, media["schema"]).iter_errors(example)]
        assert errors == []


def test_the_examples_are_accepted_by_the_server_where_they_need_no_ids(api):
    """The request examples that do not refer to demo ids are sent as they are."""
    body = dict(contract.EXAMPLES["registerCustomer"]["request"])
    assert api.post("/api/v1/customers/", as_="admin", json=body).status_code == 201
