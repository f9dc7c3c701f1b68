"""Test helpers shared by the API tests."""

from __future__ import annotations

class Api:
    """A test client that logs in as demo users and sends their token."""

    def __init__(self, client) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo1234"})
            assert response.status_code == 200, response.json
            self._tokens[username] = response.json["access_token"]
        return self._tokens[username]

    def request(self, method: str, path: str, as_: str | None = None, headers=None, **kw):
        headers = dict(headers or {})
        if as_:
            headers["Authorization"] = f"Bearer {self.token(as_)}"
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path, as_=None, **kw):
        return self.request("GET", path, as_, **kw)

    def post(self, path, as_=None, **kw):
        return self.request("POST", path, as_, **kw)

    def put(self, path, as_=None, **kw):
        return self.request("PUT", path, as_, **kw)

    def patch(self, path, as_=None, **kw):
        return self.request("PATCH", path, as_, **kw)

    def delete(self, path, as_=None, **kw):
        return self.request("DELETE", path, as_, **kw)


def assert_problem(response, status: int, *, code: str | None = None, field: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status (and code / field error)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.content_type.startswith("application/problem+json"), response.content_type
    body = response.json
    assert body["status"] == status and body["title"] and body["type"]
    if code is not None:
        assert body.get("code") == code, body
    if field is not None:
        assert field in body.get("errors", {}), body
    return body
