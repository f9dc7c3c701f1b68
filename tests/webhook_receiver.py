"""A real HTTP receiver of webhooks for the suite: a server thread on loopback that verifies each
request's Standard Webhooks signature by its own arithmetic (not dispatch's), records it, and
answers with the status codes it is told to (500 for the first N, then 204)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.json["type"]


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


@dataclass
class Receiver:
    secret: str = ""
    fail_next: int = 0  # answer 500 to this many requests, then 204
    always_fail: bool = False
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        if self.always_fail:
            return 500
        if self.fail_next > 0:
            self.fail_next -= 1
            return 500
        return 204

    def types(self) -> list[str]:
        return [item.type for item in self.received]


def start() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            with lock:
                ok = bool(receiver.secret) and signature_ok(receiver.secret, headers, body)
                receiver.received.append(Received(headers, body, ok))
                status = receiver.answer()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


@pytest.fixture
def receiver():
    """A receiver listening for the test's length (import it into a test module to use it)."""
    receiver, server = start()
    yield receiver
    server.shutdown()
    server.server_close()
