"""Sending the outbox: due deliveries are claimed, posted signed to their endpoint outside any
transaction, and the outcome logged.

* **Order per job**: a delivery is due only when no earlier event with the same ordering key is
  still pending for that endpoint, so a receiver sees a job's events in the order they happened
  (a failing one holds the later ones back; other jobs flow on).
* **Retries** with exponential back-off (30 s doubling, at most an hour apart) for as long as the
  endpoint stays enabled; a claim leases the delivery, so a worker that dies mid-send loses nothing.
* **A receiver failing for a day** (no 2xx since its first failure 24 h ago, and at least
  :data:`DISABLE_MIN_FAILURES` failed attempts in that streak, so a worker that was not running
  does not count as the receiver's fault) is disabled and HQ's administrators are told; its
  deliveries wait until HQ enables it again.
* Every attempt re-checks the target (no private or loopback address unless allowed), does not
  follow redirects and has a timeout; the whole run has a deadline.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from dispatch.care import notifications
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.errors import ValidationFailed
from dispatch.integrations import signing, targets
from dispatch.integrations.enums import DeliveryStatus, EndpointStatus
from dispatch.integrations.models import (
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from dispatch.uow import UowFactory

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600
CLAIM_LEASE_S = 120
DISABLE_AFTER = timedelta(days=1)
DISABLE_MIN_FAILURES = 5
RESPONSE_KEPT = 1000


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S))


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    body: str = ""
    error: str | None = None


Post = Callable[[str, bytes, dict[str, str], float], Answer]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Answer:
    """POST with httpx: a timeout on connect and read, no redirects followed, no proxies from the
    environment (a webhook goes straight to its receiver)."""
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}"[:2000])
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Answer(response.status_code, response.text[:RESPONSE_KEPT], error)


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    attempts: int
    manual: bool
    endpoint_id: uuid.UUID
    url: str
    secret: str
    message_id: str
    payload: dict[str, Any]


@dataclass
class DeliveryReport:
    succeeded: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"succeeded": self.succeeded, "failed": self.failed, "disabled": self.disabled}


def _claim(uow_factory: UowFactory, batch: int, ordering_key: str | None = None) -> list[_Claimed]:
    now = utcnow()
    earlier = aliased(WebhookDelivery)
    waits = exists().where(earlier.endpoint_id == WebhookDelivery.endpoint_id,
                           earlier.ordering_key == WebhookDelivery.ordering_key,
                           earlier.event_id < WebhookDelivery.event_id,
                           earlier.status == DeliveryStatus.PENDING)
    due = (WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
    only = () if ordering_key is None else (WebhookDelivery.ordering_key == ordering_key,)
    with uow_factory() as uow:
        session = uow.session
        ids = session.scalars(
            select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(*due, *only, WebhookEndpoint.status == EndpointStatus.ACTIVE, ~waits)
            .order_by(WebhookDelivery.event_id, WebhookDelivery.id).limit(batch)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed = [delivery_id for delivery_id in ids if session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, *due)
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_S))
            .execution_options(synchronize_session=False)).rowcount == 1]
        rows = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.manual, WebhookEndpoint.id,
                   WebhookEndpoint.url, WebhookEndpoint.secret, OutboundEvent.message_id, OutboundEvent.payload)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(OutboundEvent, OutboundEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(claimed)).order_by(WebhookDelivery.event_id)
        ).all()
        uow.commit()
    return [_Claimed(*row) for row in rows]


def _send(item: _Claimed, post: Post, *, allow_private: bool, timeout_s: float) -> tuple[Answer, int]:
    body = json.dumps(item.payload, separators=(",", ":"), sort_keys=True).encode()
    started = time.monotonic()
    try:
        targets.check(item.url, allow_private=allow_private)
    except ValidationFailed as exc:
        return Answer(None, error=f"refused target: {exc.detail}"), 0
    headers = signing.headers(item.secret, item.message_id, int(utcnow().timestamp()), body)
    answer = post(item.url, body, headers, timeout_s)
    return answer, int((time.monotonic() - started) * 1000)


def _record(uow_factory: UowFactory, item: _Claimed, answer: Answer, duration_ms: int) -> str | None:
    """Log the attempt and move the delivery on; the endpoint's name when this disabled it."""
    now = utcnow()
    disabled = None
    with uow_factory() as uow:
        session = uow.session
        if session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.id == item.id).with_for_update()) is None:
            return None  # pruned by the retention task while it was being sent: nothing to record
        session.add(WebhookAttempt(delivery_id=item.id, number=item.attempts, at=now, status_code=answer.status_code,
                                   error=answer.error, response_body=answer.body, duration_ms=duration_ms,
                                   manual=item.manual))
        values: dict[str, Any] = {"last_attempt_at": now, "last_status_code": answer.status_code,
                                  "last_error": answer.error, "manual": False}
        if answer.error is None:
            values |= {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now}
        else:
            values["next_attempt_at"] = now + backoff(item.attempts)
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == item.id,
                                                      WebhookDelivery.attempts == item.attempts)
                        .values(**values).execution_options(synchronize_session=False))
        endpoint = session.get(WebhookEndpoint, item.endpoint_id, with_for_update=True)
        if endpoint is not None:
            endpoint.failures = 0 if answer.error is None else endpoint.failures + 1
            if answer.error is None:
                endpoint.failing_since = None
            elif endpoint.failing_since is None:
                endpoint.failing_since = now
            elif (now - endpoint.failing_since >= DISABLE_AFTER and endpoint.failures >= DISABLE_MIN_FAILURES
                  and endpoint.status == EndpointStatus.ACTIVE):
                endpoint.status, endpoint.disabled_at = EndpointStatus.DISABLED, now
                endpoint.disabled_reason = f"no successful delivery since {endpoint.failing_since.isoformat()}"
                notifications.notify_hq(session, Template.WEBHOOK_DISABLED, {
                    "endpoint_id": str(endpoint.id), "url": endpoint.url,
                    "failing_since": endpoint.failing_since.isoformat(), "last_error": answer.error or ""})
                disabled = endpoint.url
        uow.commit()
    return disabled


def deliver_due(uow_factory: UowFactory, *, post: Post = http_post, allow_private: bool = False,
                timeout_s: float = 5.0, batch: int = 100, deadline_s: float = 50.0,
                ordering_key: str | None = None) -> DeliveryReport:
    """Send what is due, round after round (a success lets the job's next event go), until nothing
    is due or ``deadline_s`` has passed; only the deliveries of ``ordering_key`` when given (one
    job's events, as the prompt after a commit asks)."""
    report = DeliveryReport()
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        claimed = _claim(uow_factory, batch, ordering_key)
        if not claimed:
            break
        for item in claimed:
            answer, duration_ms = _send(item, post, allow_private=allow_private, timeout_s=timeout_s)
            if answer.error is None:
                report.succeeded += 1
            else:
                report.failed += 1
                log.warning("webhook delivery %s attempt %d failed: %s", item.id, item.attempts, answer.error)
            disabled = _record(uow_factory, item, answer, duration_ms)
            if disabled:
                report.disabled.append(disabled)
    return report
