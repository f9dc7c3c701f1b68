"""The SMS gateway adapter: signed requests, retries, permanent refusals, no phone numbers logged."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from dispatch.care.models import Channel
from dispatch.care.senders import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HttpSmsSender,
    LoggingSender,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    sender_for,
    sign,
    verify,
)

KEY = "gateway-key"
PHONE = "13912345678"


def _message() -> OutgoingMessage:
    return OutgoingMessage(id=uuid.uuid4(), channel=Channel.SMS, recipient=PHONE, subject="s", body="您的验证码是 123456")


def _sender(handler, retries: int = 2) -> HttpSmsSender:
    return HttpSmsSender("https://sms.example/send", KEY, transport=httpx.MockTransport(handler), retries=retries,
                         clock=lambda: 1_800_000_000, sleep=lambda _s: None)


def test_a_request_is_signed_and_the_provider_id_returned(caplog):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"message_id": "gw-1"})

    message = _message()
    with caplog.at_level(logging.INFO):
        assert _sender(handler).send(message) == "gw-1"
    [request] = seen
    body = request.read()
    assert json.loads(body) == {"id": str(message.id), "to": PHONE, "text": message.body}
    assert request.headers[SIGNATURE_HEADER] == sign(KEY, request.headers[TIMESTAMP_HEADER], body)
    assert request.headers["Idempotency-Key"] == str(message.id)
    assert PHONE not in caplog.text


def test_timeouts_and_5xx_are_retried_then_left_to_the_outbox():
    calls = []

    def flaky(request):
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if len(calls) == 2:
            return httpx.Response(503)
        return httpx.Response(200, json={"message_id": "gw-2"})

    assert _sender(flaky).send(_message()) == "gw-2" and len(calls) == 3
    with pytest.raises(SendError) as failure:
        _sender(lambda r: httpx.Response(502), retries=1).send(_message())
    assert not isinstance(failure.value, PermanentSendError) and PHONE not in str(failure.value)


def test_a_4xx_is_a_permanent_refusal():
    with pytest.raises(PermanentSendError):
        _sender(lambda r: httpx.Response(400, json={"error": "bad number"})).send(_message())


def test_the_logging_sender_masks_the_number(caplog):
    with caplog.at_level(logging.INFO):
        LoggingSender().send(_message())
    assert PHONE not in caplog.text and "139****5678" in caplog.text


def test_receipt_signatures_must_be_right_and_fresh():
    body = b'{"message_id":"gw-1","status":"delivered"}'
    good = sign(KEY, "1000", body)
    assert verify(KEY, "1000", good, body, now=1100)
    assert not verify(KEY, "1000", good, body, now=1000 + 301)
    assert not verify(KEY, "1000", good, body + b" ", now=1100)
    assert not verify("other", "1000", good, body, now=1100)
    assert not verify(KEY, None, good, body, now=1100)


def test_the_gateway_is_used_only_when_configured():
    assert isinstance(sender_for(None, None), LoggingSender)
    assert isinstance(sender_for("https://sms.example/send", KEY), HttpSmsSender)
    with pytest.raises(ValueError):
        sender_for("https://sms.example/send", None)
