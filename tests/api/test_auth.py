"""Tokens: issue, refresh (rotation and reuse), expiry, bad passwords, and 401s."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import jwt
import pytest

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


# --- user enumeration by timing, password spraying ----------------------------------------------

CHEAP = "scrypt:2048:8:1"  # not the suite's TEST_HASH: a dummy hash with fixed parameters shows


def scrypt_calls(monkeypatch) -> list[tuple[int, int, int]]:
    """The (n, r, p) of every scrypt computation from now on: the work a login does."""
    import hashlib

    calls: list[tuple[int, int, int]] = []
    real = hashlib.scrypt

    def recording(password, *, salt, n, r, p, **kwargs):
        calls.append((n, r, p))
        return real(password, salt=salt, n=n, r=r, p=p, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recording)
    return calls


def test_an_unknown_username_costs_the_same_scrypt_work_as_a_wrong_password(settings, session_factory, monkeypatch):
    """Same parameters on both paths, so the answer time does not tell which usernames exist
    (benchmarks/login_timing.py measures the ratio of the two times)."""
    from dispatch.app import create_app

    client = create_app(settings.with_(password_hash_method=CHEAP), session_factory=session_factory).test_client()
    admin = login(client, "admin").json["access_token"]
    created = client.post("/api/v1/users", headers={"Authorization": f"Bearer {admin}"}, json={
        "username": "timing.victim", "password": "correct-horse", "role": "reviewer"})
    assert created.status_code == 201, created.json
    calls = scrypt_calls(monkeypatch)
    assert_problem(login(client, "timing.victim", "wrong-password"), 401)
    assert_problem(login(client, "no.such.user", "wrong-password"), 401)
    assert calls == [(2048, 8, 1), (2048, 8, 1)]


def test_a_password_hashed_with_older_parameters_is_rehashed_at_the_next_login(settings, session_factory,
                                                                             monkeypatch):
    from sqlalchemy import select

    from dispatch.app import create_app
    from dispatch.auth.models import User

    client = create_app(settings.with_(password_hash_method=CHEAP), session_factory=session_factory).test_client()
    assert login(client, "manager.hz01").status_code == 200  # the demo hash has the suite's parameters
    with session_factory() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "manager.hz01"))
    assert stored.startswith(CHEAP + "$")
    calls = scrypt_calls(monkeypatch)
    assert login(client, "manager.hz01").status_code == 200
    assert calls == [(2048, 8, 1)]  # no second re-hash


def spray(client, usernames, address="198.51.100.20") -> list[int]:
    return [client.post("/api/v1/auth/token", json={"username": name, "password": "Summer2026!"},
                        environ_base={"REMOTE_ADDR": address}).status_code for name in usernames]


SPRAYED = ["manager.hz01", "manager.hz02", "nobody.1", "tech.hz01.1", "tech.hz01.2", "reviewer", "nobody.2",
           "tech.nb01.1", "tech.nb01.2", "admin"] * 3


def test_one_password_against_thirty_usernames_runs_into_the_address_budget(settings, session_factory):
    from dispatch.app import create_app

    client = create_app(settings.with_(auth_rate_limit=(20, 60), auth_address_rate_limit=(5, 300)),
                        session_factory=session_factory).test_client()
    statuses = spray(client, SPRAYED)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo1234"},
                           environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert_problem(response, 429)  # even the right password: the address is locked out for the window
    assert int(response.headers["Retry-After"]) >= 1
    assert spray(client, ["nobody.3"], address="198.51.100.21") == [401]  # another client is not


def test_successful_logins_from_a_shared_office_address_do_not_spend_the_budget(settings, session_factory):
    from dispatch.app import create_app

    client = create_app(settings.with_(auth_rate_limit=(20, 60), auth_address_rate_limit=(3, 300)),
                        session_factory=session_factory).test_client()
    office = {"REMOTE_ADDR": "203.0.113.9"}
    for username in ["manager.hz01", "tech.hz01.1", "tech.hz01.2", "tech.hz01.3", "tech.hz01.4", "tech.hz01.5"]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo1234"},
                               environ_base=office)
        assert response.status_code == 200, response.json
    assert spray(client, ["tech.hz01.1"] * 4, address="203.0.113.9") == [401, 401, 401, 429]


def real_redis_url() -> str:
    """DISPATCH_TEST_REDIS_URL's server, in a database of its own. Never emptied (xdist workers
    share it): the tests on it use addresses of their own (:func:`fresh_address`)."""
    return os.environ["DISPATCH_TEST_REDIS_URL"].rsplit("/", 1)[0] + "/6"


def fresh_address() -> str:
    """A client address no other test (or earlier run, whose counters live on in Redis) used."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def redis_url(request, monkeypatch) -> str:
    """One Redis every app of the test talks to: fakeredis, and the real one when
    DISPATCH_TEST_REDIS_URL is set."""
    if request.param == "fakeredis":
        import fakeredis

        shared = fakeredis.FakeRedis()
        monkeypatch.setattr("redis.Redis.from_url", lambda url, **kwargs: shared)
        return "redis://shared.invalid/0"
    return real_redis_url()


def test_the_address_budget_is_shared_by_every_process_through_redis(settings, session_factory, redis_url):
    """Two API processes (two apps) on one Redis: failures at either spend the same budget."""
    from dispatch.app import create_app

    config = settings.with_(redis_url=redis_url, auth_rate_limit=(20, 60), auth_address_rate_limit=(4, 300))
    first, second = (create_app(config, session_factory=session_factory).test_client() for _ in range(2))
    client, other = fresh_address(), fresh_address()
    assert spray(first, ["nobody.a", "nobody.b"], client) + spray(second, ["nobody.c", "nobody.d"], client) \
        == [401] * 4
    assert spray(first, ["nobody.e"], client) == [429] and spray(second, ["nobody.f"], client) == [429]
    assert spray(second, ["nobody.g"], other) == [401]  # the budget is the address's


@pytest.fixture(params=["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def counter(request):
    from dispatch.ratelimit import MemoryCounter, RedisCounter

    if request.param == "memory":
        return MemoryCounter()
    if request.param == "fakeredis":
        import fakeredis

        return RedisCounter(fakeredis.FakeRedis())
    from redis import Redis

    return RedisCounter(Redis.from_url(real_redis_url()))


class Failed(Exception):
    pass


def test_concurrent_attempts_cannot_overshoot_the_failure_budget(counter):
    """Ten logins from one address running at once (all still hashing): only the budget's four
    get in, the others are refused before any of them has failed. A check made before the
    attempt, counted only once it failed, would let all ten in."""
    from contextlib import ExitStack

    from dispatch.errors import TooManyRequests
    from dispatch.ratelimit import RateLimiter

    limiter, key = RateLimiter(counter, 4, 300), f"auth-failures:{fresh_address()}"
    admitted, refused = 0, 0
    with ExitStack() as running:
        for _ in range(10):
            try:
                running.enter_context(limiter.failures(key, Failed))
                admitted += 1
            except TooManyRequests:
                refused += 1
    assert (admitted, refused) == (4, 6)
    # All four succeeded: their share comes back, the refused ones never took any.
    for _ in range(4):
        with limiter.failures(key, Failed):
            pass
    for _ in range(4):
        with pytest.raises(Failed), limiter.failures(key, Failed):
            raise Failed
    with pytest.raises(TooManyRequests), limiter.failures(key, Failed):
        pass
