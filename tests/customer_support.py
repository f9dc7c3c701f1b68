"""Helpers for the customer channel's tests: an app whose task queue only records (so the test
delivers the outbox itself and reads the SMS), and a client that signs customers in."""

from __future__ import annotations

import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.app import create_app
from dispatch.care import notifications
from dispatch.customers import qr
from dispatch.network.models import Customer, Unit
from tests.integration.care_support import RecordingSender
from tests.plan_builders import RecordingTaskQueue

DEMO_PHONE = "13900000000"
CODE = re.compile(r"\b(\d{6})\b")


class CustomerClient:
    def __init__(self, client, uow_factory, settings) -> None:
        self.client = client
        self.uow_factory = uow_factory
        self.settings = settings
        self.sender = RecordingSender()

    def deliver(self) -> list:
        ctx = notifications.DeliveryContext(tz=ZoneInfo(self.settings.timezone), secret_key=self.settings.secret_key)
        before = len(self.sender.sent)
        notifications.deliver_due(self.uow_factory, self.sender, ctx)
        return self.sender.sent[before:]

    def request_code(self, phone: str, **headers):
        return self.client.post("/api/v1/customer/otp", json={"phone": phone}, headers=headers)

    def code_sent_to(self, phone: str) -> str:
        texts = [m for m in self.deliver() if m.recipient == phone]
        assert texts, f"no SMS went to {phone}"
        match = CODE.search(texts[-1].body)
        assert match, texts[-1].body
        return match[1]

    def sign_in(self, phone: str = DEMO_PHONE) -> str:
        response = self.request_code(phone)
        assert response.status_code == 202, response.json
        answer = self.client.post("/api/v1/customer/session", json={"phone": phone, "code": self.code_sent_to(phone)})
        assert answer.status_code == 200, answer.json
        return answer.json["access_token"]

    def call(self, method: str, path: str, token: str | None = None, headers=None, **kw):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path, token=None, **kw):
        return self.call("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.call("POST", path, token, **kw)


@pytest.fixture
def customer_app(settings, session_factory):
    return create_app(settings, session_factory=session_factory, task_queue=RecordingTaskQueue())


@pytest.fixture
def cust(customer_app, uow_factory, settings) -> CustomerClient:
    return CustomerClient(customer_app.test_client(), uow_factory, settings)


def qr_sig(settings, serial: str) -> str:
    return qr.unit_signature(settings.qr_key, serial)


def demo_units(session) -> tuple[Unit, Unit]:
    """(the demo customer's activated unit, the demo's unit waiting for activation)."""
    customer = session.scalar(select(Customer).where(Customer.phone == DEMO_PHONE))
    owned = session.scalar(select(Unit).where(Unit.customer_id == customer.id))
    new = session.scalar(select(Unit).where(Unit.serial.like("RO____9000002")))
    return owned, new


def other_customer_unit(session, not_phone: str = DEMO_PHONE) -> Unit:
    return session.scalar(select(Unit).join(Customer, Customer.id == Unit.customer_id)
                          .where(Customer.phone != not_phone).order_by(Unit.serial).limit(1))


def new_id() -> str:
    return str(uuid.uuid4())
