"""Tokens: issue, refresh (rotation and reuse), expiry, bad passwords, and 401s."""

from __future__ import annotations

from datetime import timedelta

import jwt

from dispatch import clock
from tests.helpers import assert_problem


def login(client, username="manager.hz01", password="demo1234"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_token_response_has_the_documented_shape(client):
    body = login(client).json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["role"] == "manager"
    assert body["user"]["service_point_id"]
    assert body["user"]["id"]


def test_wrong_password_and_unknown_user_are_401_problems(client):
    assert_problem(login(client, password="wrong-password"), 401, code="unauthorized")
    assert_problem(login(client, username="nobody"), 401, code="unauthorized")


def test_every_endpoint_but_the_public_ones_needs_a_token(client):
    assert_problem(client.get("/api/v1/users/me"), 401)
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer not.a.token"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_access_token_works_then_expires(client):
    token = login(client).json["access_token"]
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json["username"] == "manager.hz01"
    with clock.frozen(clock.utcnow() + timedelta(minutes=16)):
        response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert "expired" in response.json["detail"]


def test_refresh_rotates_and_a_reused_refresh_token_revokes_everything(client):
    first = login(client).json
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401)
    # the family is revoked: even the freshly rotated tokens stop working
    headers = {"Authorization": f"Bearer {second.json['access_token']}"}
    assert_problem(client.get("/api/v1/users/me", headers=headers), 401)
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": second.json["refresh_token"]}), 401)


def test_an_access_token_is_not_a_refresh_token(client):
    access = login(client).json["access_token"]
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": access}), 401)


def test_forged_tokens_are_rejected(client):
    real = jwt.decode(login(client).json["access_token"], options={"verify_signature": False})
    forged = [
        jwt.encode(real, "another-secret-that-is-long-enough-for-hs256!", algorithm="HS256"),
        jwt.encode(real, key=None, algorithm="none"),
        jwt.encode({k: v for k, v in real.items() if k != "exp"}, "test-secret-key-not-for-production-0123456789"),
    ]
    for token in forged:
        assert_problem(client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}), 401)


def test_login_is_rate_limited(app, client):
    app.extensions["dispatch"].auth_limiter.limit = 3
    statuses = [login(client, password="wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = login(client, password="wrong-password")
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
