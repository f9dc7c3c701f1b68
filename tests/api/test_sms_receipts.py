"""Delivery receipts from the SMS gateway: signed, stored, linked to the message they name; one
naming no message of ours is kept 90 days, then pruned with the outboxes."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dispatch import clock
from dispatch.care import notifications
from dispatch.care.models import DeliveryReceipt, Notification
from dispatch.care.senders import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from dispatch.clock import utcnow
from tests.api.test_integrations_outbox_retention import prune
from tests.customer_support import DEMO_PHONE, cust, customer_app  # noqa: F401  (fixtures)
from tests.helpers import assert_problem

KEY = "gateway-key"


class GatewaySender:
    def send(self, message):
        return f"gw-{message.id.hex[:8]}"


def test_a_signed_receipt_is_stored_against_its_message(cust, api, app, settings, uow_factory, session):
    app.extensions["dispatch"].settings = settings.with_(sms_key=KEY)
    cust.request_code(DEMO_PHONE)
    ctx = notifications.DeliveryContext(tz=ZoneInfo(settings.timezone), secret_key=settings.secret_key)
    notifications.deliver_due(uow_factory, GatewaySender(), ctx)
    message = session.scalar(select(Notification).where(Notification.template == "sign_in_code"))
    session.refresh(message)
    assert message.provider_message_id.startswith("gw-")
    body = json.dumps({"message_id": message.provider_message_id, "status": "delivered"}).encode()
    stamp = str(int(utcnow().timestamp()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(KEY, stamp, body), "Content-Type": "application/json"}
    answer = api.client.post("/api/v1/notifications/receipts", data=body, headers=headers)
    assert answer.status_code == 202 and answer.json["notification_id"] == str(message.id)
    listed = api.get(f"/api/v1/notifications/{message.id}/receipts", as_="admin").json
    assert [r["status"] for r in listed] == ["delivered"]
    forged = dict(headers, **{SIGNATURE_HEADER: "0" * 64})
    assert_problem(api.client.post("/api/v1/notifications/receipts", data=body, headers=forged), 401)


def test_receipts_are_refused_without_a_configured_gateway(api):
    body = json.dumps({"message_id": "x", "status": "delivered"}).encode()
    answer = api.client.post("/api/v1/notifications/receipts", data=body,
                             headers={"Content-Type": "application/json", TIMESTAMP_HEADER: "1",
                                      SIGNATURE_HEADER: "x"})
    assert_problem(answer, 404)


def test_a_receipt_naming_no_message_is_kept_90_days(api, app, settings, uow_factory, session):
    app.extensions["dispatch"].settings = settings.with_(sms_key=KEY)
    body = json.dumps({"message_id": "gw-nobody", "status": "delivered"}).encode()
    stamp = str(int(utcnow().timestamp()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(KEY, stamp, body), "Content-Type": "application/json"}
    answer = api.client.post("/api/v1/notifications/receipts", data=body, headers=headers)
    assert answer.status_code == 202 and answer.json["notification_id"] is None
    start = utcnow()

    def kept() -> int:
        session.expire_all()
        return session.scalar(select(func.count()).select_from(DeliveryReceipt)
                              .where(DeliveryReceipt.provider_message_id == "gw-nobody"))

    with clock.frozen(start + timedelta(days=89)):
        assert prune(settings, uow_factory)["notifications"]["unmatched_receipts"] == 0 and kept() == 1
    with clock.frozen(start + timedelta(days=91)):
        assert prune(settings, uow_factory)["notifications"]["unmatched_receipts"] == 1 and kept() == 0
