"""Signed, expiring rating links: the customer has no account, the link is the permission.

The token names the job and the moment it was issued, signed with the app secret (salted, so a
rating token is never mistaken for any other signed value). Time comes from dispatch.clock so
that expiry is testable.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from dispatch.clock import utcnow
from dispatch.errors import Gone, NotFound

FEEDBACK_LINK_TTL = timedelta(days=14)
FEEDBACK_LINK_BASE = "https://dispatch.example/feedback/"
"""Placeholder for the customer-facing rating page (it posts to ``POST /api/v1/feedback/{token}``);
override with ``Settings.feedback_link_base`` (``DISPATCH_FEEDBACK_LINK_BASE``)."""

_SALT = "dispatch.care.feedback"


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


class _Serializer(URLSafeTimedSerializer):
    default_signer = _ClockSigner


def _serializer(secret_key: str) -> _Serializer:
    return _Serializer(secret_key, salt=_SALT)


def issue(secret_key: str, job_id: uuid.UUID) -> str:
    """A rating token for ``job_id``, valid for :data:`FEEDBACK_LINK_TTL` from now."""
    return _serializer(secret_key).dumps({"job": job_id.hex})


def rating_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/{token}"


def read(secret_key: str, token: str, ttl: timedelta = FEEDBACK_LINK_TTL) -> uuid.UUID:
    """The job a token rates. Expired: Gone (410). Tampered or malformed: NotFound (404)."""
    try:
        data = _serializer(secret_key).loads(token, max_age=int(ttl.total_seconds()))
    except SignatureExpired as exc:
        raise Gone("this rating link has expired; the call centre may still record your opinion") from exc
    except BadData as exc:
        raise NotFound("this rating link is not valid") from exc
    try:
        return uuid.UUID(hex=data["job"])
    except (TypeError, KeyError, ValueError) as exc:
        raise NotFound("this rating link is not valid") from exc
