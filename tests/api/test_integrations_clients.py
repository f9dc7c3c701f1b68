"""Machine clients through HTTP: HQ creates, rotates and revokes them; a client gets a token with
the OAuth 2.0 client-credentials grant and calls exactly the operations its scopes name."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from sqlalchemy import select

from dispatch.api import scopes as api_scopes
from dispatch.auth.enums import Scope
from dispatch.auth.models import ApiClient
from tests.helpers import assert_problem

TOKEN = "/api/v1/oauth/token"


def create(api, scopes=("jobs:read", "units:read", "webhooks:manage"), name="ERP") -> dict:
    response = api.post("/api/v1/clients", as_="admin", json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.json
    return response.json


def token(client, issued: dict, **extra) -> str:
    response = client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                        "client_secret": issued["client_secret"]} | extra)
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer" and response.json["expires_in"] > 0
    return response.json["access_token"]


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_hq_creates_a_client_whose_secret_is_shown_once_and_kept_hashed(api, session):
    issued = create(api)
    assert issued["client_id"].startswith("cli_") and issued["client_secret"].startswith("cs_")
    assert api.get(f"/api/v1/clients/{issued['id']}", as_="reviewer").json["secret_hint"] == \
        issued["client_secret"][-4:]
    assert "client_secret" not in api.get(f"/api/v1/clients/{issued['id']}", as_="admin").json
    stored = session.scalar(select(ApiClient).where(ApiClient.client_id == issued["client_id"]))
    assert issued["client_secret"] not in (stored.secret_hash, stored.secret_hint) and len(stored.secret_hash) == 64
    for username in ("reviewer", "manager.hz01", "tech.hz01.1"):
        assert_problem(api.post("/api/v1/clients", as_=username, json={"name": "x", "scopes": ["jobs:read"]}), 403)
    assert_problem(api.get("/api/v1/clients", as_="manager.hz01"), 403)
    assert_problem(api.post("/api/v1/clients", as_="admin", json={"name": "x", "scopes": ["jobs:delete"]}),
                   422, field="scopes.0")
    assert_problem(api.post("/api/v1/clients", as_="admin", json={"name": "x", "scopes": []}), 422, field="scopes")
    assert_problem(api.post("/api/v1/clients", as_="admin", json={"name": " ", "scopes": ["jobs:read"]}),
                   422, field="name")


def test_a_client_gets_a_token_by_form_or_basic_and_bad_requests_are_named(client, api):
    issued = create(api)
    assert token(client, issued)
    basic = base64.b64encode(f"{issued['client_id']}:{issued['client_secret']}".encode()).decode()
    by_basic = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert by_basic.status_code == 200 and by_basic.json["scope"] == "jobs:read units:read webhooks:manage"
    narrowed = client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                        "client_secret": issued["client_secret"], "scope": "jobs:read"})
    assert narrowed.json["scope"] == "jobs:read"
    wrong = assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                                    "client_secret": "cs_wrong"}), 401)
    assert wrong["error"] == "invalid_client"
    assert assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": "cli_nobody",
                                                   "client_secret": "x"}), 401)["detail"] == wrong["detail"]
    assert_problem(client.post(TOKEN, data={"grant_type": "password", "client_id": issued["client_id"],
                                            "client_secret": issued["client_secret"]}), 422, field="grant_type")
    assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials"}), 422, field="client_id")
    assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                            "client_secret": issued["client_secret"], "scope": "jobs:write"}),
                   422, field="scope")
    assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials"},
                               headers={"Authorization": "Basic !!!"}), 401)
    # its account cannot log in with a password
    assert_problem(client.post("/api/v1/auth/token", json={"username": f"client:{issued['client_id']}",
                                                           "password": issued["client_secret"]}), 401)


def test_a_client_calls_what_its_scopes_name_and_nothing_else(client, api, session):
    issued = create(api, scopes=("jobs:read",))
    headers = bearer(token(client, issued))
    listed = client.get("/api/v1/jobs/", headers=headers)
    assert listed.status_code == 200 and listed.json
    assert client.get(f"/api/v1/jobs/{listed.json[0]['id']}", headers=headers).status_code == 200
    refused = assert_problem(client.post("/api/v1/jobs/", headers=headers, json={}), 403)
    assert "jobs:write" in refused["detail"]
    for path in ("/api/v1/kpis/", "/api/v1/clients", "/api/v1/users/", "/api/v1/webhooks/endpoints"):
        assert_problem(client.get(path, headers=headers), 403)
    changed = api.patch(f"/api/v1/clients/{issued['id']}", as_="admin", json={"scopes": ["units:read"]})
    assert changed.status_code == 200 and changed.json["scopes"] == ["units:read"]
    assert_problem(client.get("/api/v1/jobs/", headers=headers), 403)  # the same token, the new scopes
    assert client.get("/api/v1/units/", headers=headers).status_code == 200


def test_rotating_or_revoking_stops_the_old_secret_and_its_tokens_at_once(client, api):
    issued = create(api)
    old_token = token(client, issued)
    rotated = api.post(f"/api/v1/clients/{issued['id']}/secret", as_="admin")
    assert rotated.status_code == 200 and rotated.json["client_secret"] != issued["client_secret"]
    assert_problem(client.get("/api/v1/jobs/", headers=bearer(old_token)), 401)
    assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                            "client_secret": issued["client_secret"]}), 401)
    new_token = token(client, rotated.json)
    assert client.get("/api/v1/jobs/", headers=bearer(new_token)).status_code == 200
    assert api.delete(f"/api/v1/clients/{issued['id']}", as_="admin").status_code == 204
    assert_problem(client.get("/api/v1/jobs/", headers=bearer(new_token)), 401)
    assert_problem(client.post(TOKEN, data={"grant_type": "client_credentials", "client_id": issued["client_id"],
                                            "client_secret": rotated.json["client_secret"]}), 401)
    assert api.get(f"/api/v1/clients/{issued['id']}", as_="admin").json["revoked_at"] is not None
    assert_problem(api.post(f"/api/v1/clients/{issued['id']}/secret", as_="admin"), 404)


FILLERS = {"number": "1", "category": "after_sales", "job_type": "repair"}


def _filled(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: FILLERS.get(m.group(1), str(uuid.uuid4())), path)


@pytest.mark.parametrize("scope", list(Scope))
def test_the_scope_matrix_every_operation_outside_a_scope_is_refused(client, api, scope):
    """For each scope, a client holding only it gets 403 from every operation of the document its
    scope does not name (before any body is read), and never 403 from the ones it does."""
    document = client.get("/api/v1/openapi.json").json
    issued = create(api, scopes=(scope.value,), name=f"matrix {scope.value}")
    headers = bearer(token(client, issued))
    allowed = api_scopes.OPERATIONS[scope]
    checked = 0
    for path, item in document["paths"].items():
        if path.startswith(("/api/v1/customer/", "/api/v1/public/")):
            continue  # customer tokens only, or no token at all
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"} or operation.get("security") == []:
                continue
            answer = client.open(_filled(path), method=method.upper(), headers=headers, json={})
            if operation["operationId"] in allowed:
                assert answer.status_code != 403, (operation["operationId"], answer.json)
            else:
                assert answer.status_code == 403, (operation["operationId"], answer.status_code)
            checked += 1
    assert checked > 100
