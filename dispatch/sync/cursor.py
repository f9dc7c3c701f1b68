"""Opaque, tamper-proof pull cursors: the user, the feed position, signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from dispatch.errors import Gone


class CursorReset(Gone):
    """The cursor cannot be used (forged, foreign, or below the retention floor): start over."""

    code = "reset-required"
    title = "Sync reset required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, reset_required=True)


@dataclass(frozen=True)
class Cursor:
    """``seq``: the feed position; ``snapshot_after``: while a first (snapshot) sync is paged,
    the last entity key delivered (``"job:<uuid>"``); None once the snapshot is complete."""

    user_id: uuid.UUID
    seq: int
    snapshot_after: str | None = None


def _sign(secret: str, body: bytes) -> str:
    key = hashlib.sha256(b"sync-cursor:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()[:16]).decode().rstrip("=")


def encode(cursor: Cursor, secret: str) -> str:
    fields = {"u": str(cursor.user_id), "s": cursor.seq}
    if cursor.snapshot_after is not None:
        fields["k"] = cursor.snapshot_after
    body = json.dumps(fields, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{payload}.{_sign(secret, body)}"


def decode(token: str, secret: str, *, user_id: uuid.UUID) -> Cursor:
    """Check the signature and the owner; raise :class:`CursorReset` otherwise."""
    try:
        payload, signature = token.split(".", 1)
        body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (ValueError, TypeError) as exc:
        raise CursorReset("the cursor is malformed") from exc
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise CursorReset("the cursor was not issued by this server")
    data = json.loads(body)
    if data.get("u") != str(user_id):
        raise CursorReset("the cursor belongs to another user")
    return Cursor(user_id=user_id, seq=int(data["s"]), snapshot_after=data.get("k"))
