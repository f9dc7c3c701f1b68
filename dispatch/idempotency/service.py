"""Idempotency keys for creates a call centre, an app or an integration may retry.

A key is scoped to the principal that sent it; the request is fingerprinted (method, path, body).
The same key and request replays the first response (same status, body and Location); the same
key with another request is 422; a duplicate arriving while the first is still in flight is 409
(retry shortly). Nothing is kept for a request that failed: its retry runs again.

Two ways to use it:

- a service that owns its transaction stores its own response: :func:`replay` first, then
  :func:`remember` before its commit (the sync push);
- the HTTP layer wraps a create whose service commits on its own: :func:`claim` adds the key's
  row to the request's transaction before the service runs, so the row commits with the create
  or rolls back with it, and the unique key arbitrates concurrent duplicates; :func:`complete`
  then stores the response.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.clock import utcnow
from dispatch.errors import Conflict, RuleViolation, ValidationFailed
from dispatch.idempotency.models import IdempotencyRecord
from dispatch.uow import UnitOfWork

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class KeyReused(RuleViolation):
    code = "idempotency-key-reused"
    title = "Idempotency-Key reused with another request"


class RequestInFlight(Conflict):
    code = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the request's parts (method, path, body...) in a canonical JSON form."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def replay(session: Session, user_id: uuid.UUID, key: str, digest: str) -> StoredResponse | None:
    """The response stored for ``key``; None when the key is new. Another request under the same
    key is KeyReused (422); the first still in flight is RequestInFlight (409)."""
    record = session.get(IdempotencyRecord, (user_id, key), populate_existing=True)
    if record is None:
        return None
    if record.fingerprint != digest:
        raise KeyReused(f"this {HEADER} was used with a different request",
                        errors={HEADER: ["reused with a different request"]})
    if record.status_code is None:
        raise RequestInFlight(f"the first request with this {HEADER} is still being processed; retry shortly",
                              retry_after_s=1)
    return StoredResponse(record.status_code, record.body, dict(record.headers or {}))


def remember(session: Session, user_id: uuid.UUID, key: str, digest: str, response: StoredResponse) -> None:
    """Store the response in the caller's transaction (which must also hold the effects)."""
    session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint=digest, status_code=response.status_code,
                                  body=response.body, headers=response.headers, created_at=utcnow()))


def claim(uow: UnitOfWork, user_id: uuid.UUID, key: str, digest: str) -> StoredResponse | None:
    """Replay the stored response, or take the key for this request.

    Taking it inserts the key's row, without a response, into the unit of work's transaction and
    leaves that transaction open for the create that follows: the row commits with the create's
    commit or vanishes with its rollback. A concurrent duplicate's insert waits on the unique key
    until the first commits, then finds its row (409 while in flight, else the replay)."""
    with uow:
        stored = replay(uow.session, user_id, key, digest)
        if stored is not None:
            return stored
        uow.session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint=digest, status_code=None,
                                          body=None, headers=None, created_at=utcnow()))
        try:
            uow.session.flush()
        except IntegrityError:
            uow.session.rollback()
            stored = replay(uow.session, user_id, key, digest)
            if stored is None:  # the other request failed and left nothing: let the client retry
                raise RequestInFlight(f"a concurrent request with this {HEADER} was being processed; retry",
                                      retry_after_s=1) from None
            return stored
    return None


def complete(uow: UnitOfWork, user_id: uuid.UUID, key: str, response: StoredResponse | None) -> None:
    """Store the response of a claimed key (a success), or give the key up (``None``: nothing was
    created, a retry runs again)."""
    with uow:
        record = uow.session.get(IdempotencyRecord, (user_id, key))
        if record is not None:
            if response is None:
                uow.session.delete(record)
            else:
                record.status_code, record.body, record.headers = (response.status_code, response.body,
                                                                   response.headers)
        uow.commit()
