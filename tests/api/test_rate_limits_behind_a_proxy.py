"""The login rate limit keys on the client address: the TCP peer by default, or the address the
configured number of reverse proxies put in X-Forwarded-For; a header a client writes itself
never buys it a fresh budget."""

from __future__ import annotations

from dispatch.app import create_app
from tests.helpers import assert_problem

PROXY = {"REMOTE_ADDR": "10.0.0.1"}
WRONG = {"username": "manager.hz01", "password": "not-the-password"}


def attempts(client, forwarded_for: str | None, n: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return [client.post("/api/v1/auth/token", json=WRONG, headers=headers, environ_base=PROXY).status_code
            for _ in range(n)]


def test_without_a_proxy_a_spoofed_forwarded_for_header_is_ignored(settings, session_factory):
    client = create_app(settings.with_(auth_rate_limit=(2, 60)), session_factory=session_factory).test_client()
    assert attempts(client, None, 2) == [401, 401]
    assert attempts(client, "198.51.100.7", 1) == [429]  # same TCP peer, same budget
    assert attempts(client, "198.51.100.8, 198.51.100.9", 1) == [429]


def test_behind_one_proxy_each_client_has_its_own_budget_and_cannot_forge_another(settings, session_factory):
    client = create_app(settings.with_(auth_rate_limit=(2, 60), proxy_hops=1),
                        session_factory=session_factory).test_client()
    assert attempts(client, "203.0.113.5", 2) == [401, 401]
    response = client.post("/api/v1/auth/token", json=WRONG, headers={"X-Forwarded-For": "203.0.113.5"},
                           environ_base=PROXY)
    assert_problem(response, 429)
    assert response.headers["Retry-After"]
    # The client prepends an address of its own; the proxy appends the real one, which counts.
    assert attempts(client, "192.0.2.77, 203.0.113.5", 1) == [429]
    # Another client behind the same proxy is not locked out.
    assert attempts(client, "203.0.113.6", 1) == [401]
