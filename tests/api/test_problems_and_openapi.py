"""Error bodies are problem+json everywhere; the OpenAPI document is valid."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.helpers import assert_problem


def test_unknown_route_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)


def test_wrong_method_is_a_405_problem(api):
    response = api.delete("/api/v1/auth/token")
    assert_problem(response, 405)


def test_validation_errors_name_each_field(client):
    body = assert_problem(client.post("/api/v1/auth/token", json={"username": 5}), 422, code="validation-error")
    assert body["errors"]["username"] == ["Not a valid string."]
    assert body["errors"]["password"] == ["Missing data for required field."]


def test_malformed_json_is_a_4xx_problem(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.content_type.startswith("application/problem+json")


def test_oversized_body_is_a_413_problem(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/auth/token", data=b"x" * (limit + 1), content_type="application/json")
    assert_problem(response, 413)


def test_openapi_document_is_valid_and_declares_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert "Problem" in spec["components"]["schemas"] or "ProblemSchema" in str(spec["components"]["schemas"])


def test_swagger_ui_is_served_from_the_package(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"/api/v1/openapi.json" in page.data
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_health_and_readiness(client):
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz").json
    assert ready == {"status": "ok", "checks": {"database": "ok"}}


def test_error_responses_are_documented_as_problem_json(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if status.isdigit() and int(status) >= 400 and "content" in response:
                    assert list(response["content"]) == ["application/problem+json"], (path, method, status)
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]


def test_readiness_failure_is_a_503_problem_listing_the_checks(app, client):
    class DeadQueue:
        def ping(self):
            raise ConnectionError("redis down")

    app.extensions["dispatch"].task_queue = DeadQueue()
    body = assert_problem(client.get("/readyz"), 503)
    assert body["checks"] == {"database": "ok", "redis": "unreachable: ConnectionError"}
