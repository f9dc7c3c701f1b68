"""How outbox messages leave the building: the Sender port, the logging sender (laptop, demo)
and the SMS gateway adapter that speaks HTTP to a configurable endpoint.

The delivery task only ever sees the port; :func:`sender_for` is the one composition point.
Phone numbers never reach the log: recipients are masked in every line written here.

The gateway contract (``DISPATCH_SMS_URL``, ``DISPATCH_SMS_KEY``):

- ``POST <url>`` with JSON ``{"id", "to", "text"}``; headers ``X-Dispatch-Timestamp`` (Unix
  seconds), ``X-Dispatch-Signature`` (hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the key) and
  ``Idempotency-Key`` (the message id: a retried request is one message).
- 2xx with JSON ``{"message_id": "..."}``: accepted; the id is stored and later named by the
  gateway's delivery receipts (``POST /api/v1/notifications/receipts``, signed the same way).
- 4xx: refused for good (a malformed number); 429, 5xx, timeouts and network errors are retried a
  few times here, then the outbox retries with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from dispatch.care.models import Channel
from dispatch.network.common import mask_phone

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dispatch-Signature"
TIMESTAMP_HEADER = "X-Dispatch-Timestamp"
RECEIPT_MAX_AGE_S = 300


@dataclass(frozen=True)
class OutgoingMessage:
    id: uuid.UUID
    channel: Channel
    recipient: str
    subject: str
    body: str


class SendError(Exception):
    """The provider refused or could not be reached; the message is retried with back-off."""


class PermanentSendError(SendError):
    """The provider refused the message for good (retrying cannot help): it fails at once."""


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> str | None:
        """Deliver ``message`` (returning the provider's message id, if any) or raise
        :class:`SendError` (any other exception counts as one)."""


def safe_recipient(message: OutgoingMessage) -> str:
    """The recipient as it may appear in a log line (phone numbers masked)."""
    return mask_phone(message.recipient) if message.channel == Channel.SMS else message.recipient


class LoggingSender:
    """Writes each message to the log instead of sending it (development and demo default).

    The text is logged (on a laptop that is how a demo customer reads their sign-in code); the
    phone number is not."""

    def send(self, message: OutgoingMessage) -> str | None:
        log.info("notification %s via %s to %s: %s | %s", message.id, message.channel.value,
                 safe_recipient(message), message.subject, message.body)
        return None


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"``: requests to and receipts from the gateway."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(key: str, timestamp: str | None, signature: str | None, body: bytes, *, now: float,
           max_age_s: int = RECEIPT_MAX_AGE_S) -> bool:
    """A signed request from the gateway: right key, and not older (or newer) than ``max_age_s``."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > max_age_s:
        return False
    return hmac.compare_digest(sign(key, timestamp, body), signature)


class HttpSmsSender:
    """Texts through an HTTP SMS gateway: signed requests, a timeout, a few quick retries."""

    def __init__(self, url: str, key: str, *, timeout_s: float = 5.0, retries: int = 2,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self._key = key
        self._retries = retries
        self._clock = clock
        self._sleep = sleep
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    def send(self, message: OutgoingMessage) -> str | None:
        if message.channel != Channel.SMS:
            raise PermanentSendError(f"the SMS gateway cannot send {message.channel.value} messages")
        body = json.dumps({"id": str(message.id), "to": message.recipient, "text": message.body},
                          ensure_ascii=False).encode()
        last_error = "not attempted"
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(0.5 * attempt)
            timestamp = str(int(self._clock()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                       SIGNATURE_HEADER: sign(self._key, timestamp, body), "Idempotency-Key": str(message.id)}
            try:
                response = self._client.post(self._url, content=body, headers=headers)
            except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses
                last_error = f"{type(exc).__name__}"
                continue
            if response.is_success:
                try:
                    provider_id = response.json().get("message_id")
                except (ValueError, AttributeError):
                    provider_id = None
                log.info("notification %s accepted by the SMS gateway for %s", message.id, safe_recipient(message))
                return str(provider_id) if provider_id else None
            if response.status_code == 429 or response.status_code >= 500:
                last_error = f"gateway answered {response.status_code}"
                continue
            raise PermanentSendError(f"gateway refused the message: {response.status_code}")
        raise SendError(f"{last_error} after {self._retries + 1} attempts")

    def close(self) -> None:
        self._client.close()


def sender_for(sms_url: str | None, sms_key: str | None, *, timeout_s: float = 5.0) -> Sender:
    """The gateway adapter when one is configured, else the logging sender."""
    if sms_url:
        if not sms_key:
            raise ValueError("DISPATCH_SMS_URL needs DISPATCH_SMS_KEY (requests are signed)")
        return HttpSmsSender(sms_url, sms_key, timeout_s=timeout_s)
    return LoggingSender()
