"""Outbound events through HTTP, delivered to a real receiver on loopback: signed as Standard
Webhooks do, retried with back-off, in order per job, logged, redelivered on request, and a
receiver failing for a day is disabled and HQ told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.app import create_app
from dispatch.audits.models import Audit, AuditStatus
from dispatch.care.models import Notification
from dispatch.clock import utcnow
from dispatch.config import Settings
from dispatch.errors import ValidationFailed
from dispatch.integrations import delivery, signing, targets
from dispatch.network.models import Customer
from dispatch.stock.models import StockLevel
from tests import webhook_receiver
from tests.api.jobs_builders import create_job
from tests.helpers import Api, assert_problem

JOB_EVENTS = ["job.created", "job.dispatched", "job.scheduled", "job.status_changed", "job.completed"]


def register(api, receiver, event_types=JOB_EVENTS) -> dict:
    response = api.post("/api/v1/webhooks/endpoints", as_="admin",
                        json={"url": receiver.url, "event_types": event_types, "description": "ERP"})
    assert response.status_code == 201, response.json
    receiver.secret = response.json["secret"]
    return response.json


def deliver(uow_factory) -> delivery.DeliveryReport:
    return delivery.deliver_due(uow_factory, allow_private=True, timeout_s=5)


def test_an_endpoint_receives_a_jobs_events_signed_and_in_order(api, session, uow_factory, receiver):
    endpoint = register(api, receiver)
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"
    assert api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="reviewer").json["url"] == receiver.url
    assert "secret" not in api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin").json
    job = create_job(api, session)
    assert receiver.received == []  # nothing leaves before a worker sends it
    report = deliver(uow_factory)
    assert report.succeeded == len(receiver.received) >= 1 and report.failed == 0
    assert receiver.types()[0] == "job.created"
    assert all(item.signature_ok for item in receiver.received)
    first = receiver.received[0]
    assert first.json["data"]["job_id"] == job["id"] and first.json["data"]["reference"] == job["reference"]
    assert signing.verify(receiver.secret, first.headers, first.body, now=utcnow().timestamp())
    assert not signing.verify(signing.new_secret(), first.headers, first.body, now=utcnow().timestamp())
    assert len({item.headers["webhook-id"] for item in receiver.received}) == len(receiver.received)
    assert deliver(uow_factory).succeeded == 0  # each event once


def test_a_failed_delivery_is_retried_with_back_off_and_holds_the_jobs_later_events(
        api, session, uow_factory, receiver):
    endpoint = register(api, receiver, ["job.created", "job.status_changed"])
    job = create_job(api, session)
    moved = api.post(f"/api/v1/jobs/{job['id']}/transitions", as_="admin", json={"to": "cancelled", "reason": "customer moved away"})
    assert moved.status_code == 200, moved.json
    receiver.fail_next = 1
    first_run = deliver(uow_factory)
    assert (first_run.succeeded, first_run.failed) == (0, 1)
    assert receiver.types() == ["job.created"]  # the status change waits for the created event
    assert deliver(uow_factory).failed == 0 and len(receiver.received) == 1  # not due yet: back-off
    with clock.frozen(utcnow() + delivery.backoff(1) + timedelta(seconds=1)):
        second_run = deliver(uow_factory)
    assert second_run.failed == 0 and second_run.succeeded >= 2
    types = receiver.types()
    assert types[:2] == ["job.created", "job.created"] and types.index("job.created") < types.index("job.status_changed")
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    assert [item.json["data"]["status"] for item in receiver.received if item.type == "job.status_changed"][-1] == \
        "cancelled"

    log = api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries?event_type=job.created", as_="reviewer")
    assert log.status_code == 200 and len(log.json) == 1
    created = log.json[0]
    assert created["status"] == "succeeded" and created["attempts"] == 2
    detail = api.get(f"/api/v1/webhooks/deliveries/{created['id']}", as_="admin").json
    assert [(a["number"], a["status_code"]) for a in detail["log"]] == [(1, 500), (2, 204)]
    assert detail["log"][0]["error"] == "HTTP 500"
    pending = api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries?status=pending", as_="admin")
    assert pending.json == []


def test_hq_redelivers_a_delivery_at_once_with_the_same_webhook_id(api, session, uow_factory, receiver):
    register(api, receiver, ["job.created"])
    create_job(api, session)
    deliver(uow_factory)
    endpoint_id = api.get("/api/v1/webhooks/endpoints", as_="admin").json[-1]["id"]
    done = api.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", as_="admin").json[0]
    assert_problem(api.post(f"/api/v1/webhooks/deliveries/{done['id']}/redelivery", as_="reviewer"), 403)
    again = api.post(f"/api/v1/webhooks/deliveries/{done['id']}/redelivery", as_="admin")
    assert again.status_code == 202, again.json
    assert again.json["status"] == "succeeded" and again.json["log"][-1]["manual"] is True  # sent by the task
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_a_receiver_failing_for_a_day_is_disabled_and_hq_told_then_enabled_again(
        api, session, uow_factory, receiver):
    endpoint = register(api, receiver, ["job.created"])
    receiver.always_fail = True
    create_job(api, session)
    start = utcnow()
    assert deliver(uow_factory).failed == 1
    for hours in (1, 3, 7, 15):  # retried all day long: still enabled, less than a day yet
        with clock.frozen(start + timedelta(hours=hours)):
            api._tokens.clear()  # the morning's tokens have expired
            assert deliver(uow_factory).failed == 1
            state = api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin").json
            assert state["status"] == "active" and state["failing_since"] is not None
    with clock.frozen(start + timedelta(days=1, hours=1)):
        api._tokens.clear()
        report = deliver(uow_factory)
        assert report.disabled == [receiver.url]
        state = api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin").json
        assert state["status"] == "disabled" and state["disabled_reason"].startswith("no successful delivery")
        told = session.scalars(select(Notification).where(Notification.template == "webhook_disabled")).all()
        assert told and all(message.recipient.startswith("user:") for message in told)
        assert told[0].payload["url"] == receiver.url
        sent = len(receiver.received)
        assert deliver(uow_factory).failed == 0 and len(receiver.received) == sent  # it waits
        receiver.always_fail = False
        enabled = api.patch(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin", json={"status": "active"})
        assert enabled.status_code == 200 and enabled.json["failing_since"] is None
        assert deliver(uow_factory).succeeded == 1
    assert receiver.types()[-1] == "job.created"
    api._tokens.clear()


def test_other_domains_events_reach_their_subscribers(api, session, uow_factory, receiver):
    register(api, receiver, ["complaint.opened", "audit.verdict"])
    job = session.scalars(select(Audit).where(Audit.status == AuditStatus.OPEN)).first()
    assert job is not None, "the demo data has an open audit"
    complaint = api.post("/api/v1/complaints/", as_="admin", json={
        "category": "after_sales", "customer_id": str(session.scalar(select(Customer.id).limit(1))),
        "summary": "No one came"})
    assert complaint.status_code == 201, complaint.json
    verdict = api.post(f"/api/v1/audits/{job.id}/verdict", as_="reviewer",
                       json={"verdict": "conforming", "note": "fine"})
    assert verdict.status_code in (200, 201), verdict.json
    deliver(uow_factory)
    by_type = {item.type: item.json["data"] for item in receiver.received}
    assert by_type["complaint.opened"]["complaint_id"] == complaint.json["id"]
    assert by_type["audit.verdict"]["audit_id"] == str(job.id) and by_type["audit.verdict"]["verdict"] == "conforming"
    assert all(item.signature_ok for item in receiver.received)


def test_endpoints_are_hq_business_and_bad_input_names_the_field(api, receiver):
    body = {"url": receiver.url, "event_types": ["job.created"]}
    for username in ("manager.hz01", "tech.hz01.1", "reviewer"):
        assert_problem(api.post("/api/v1/webhooks/endpoints", as_=username, json=body), 403)
    assert_problem(api.get("/api/v1/webhooks/endpoints", as_="manager.hz01"), 403)
    assert_problem(api.post("/api/v1/webhooks/endpoints", as_="admin", json=body | {"event_types": ["job.exploded"]}),
                   422, field="event_types.0")
    assert_problem(api.post("/api/v1/webhooks/endpoints", as_="admin", json=body | {"event_types": []}),
                   422, field="event_types")
    assert_problem(api.post("/api/v1/webhooks/endpoints", as_="admin", json=body | {"url": "ftp://example.com/x"}),
                   422, field="url")
    assert_problem(api.get("/api/v1/webhooks/endpoints/00000000-0000-0000-0000-000000000001", as_="admin"), 404)
    assert_problem(api.get("/api/v1/webhooks/endpoints/x/deliveries?status=lost", as_="admin"), 404)
    types = api.get("/api/v1/webhooks/event-types", as_="reviewer").json
    assert {item["type"] for item in types} >= {"job.created", "claim.decided", "stock.below_minimum"}


def test_rotating_the_secret_signs_later_deliveries_with_the_new_one(api, session, uow_factory, receiver):
    endpoint = register(api, receiver, ["job.created"])
    rotated = api.post(f"/api/v1/webhooks/endpoints/{endpoint['id']}/secret", as_="admin")
    assert rotated.status_code == 200 and rotated.json["secret"] != endpoint["secret"]
    create_job(api, session)
    deliver(uow_factory)
    assert receiver.received and not receiver.received[0].signature_ok  # the receiver still has the old one
    receiver.secret = rotated.json["secret"]
    assert webhook_receiver.signature_ok(receiver.secret, receiver.received[0].headers, receiver.received[0].body)
    assert api.delete(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin").status_code == 204
    assert_problem(api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin"), 404)


def test_private_and_loopback_targets_are_refused_unless_allowed(settings, session_factory, receiver):
    production = create_app(settings.with_(webhook_allow_private_targets=False), session_factory=session_factory)
    api = Api(production.test_client())
    for url in (receiver.url, "http://localhost:8080/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                "http://[::1]/x", "http://192.168.0.7/x"):
        assert_problem(api.post("/api/v1/webhooks/endpoints", as_="admin",
                                json={"url": url, "event_types": ["job.created"]}), 422, field="url")
    assert not Settings.from_env({"SECRET_KEY": "x" * 40}).webhook_allow_private_targets
    assert targets.check("https://93.184.216.34/hook", allow_private=False) == "https://93.184.216.34/hook"
    with pytest.raises(ValidationFailed):
        targets.check("http://user:pw@93.184.216.34/hook", allow_private=True)



def test_stock_falling_to_its_minimum_is_one_event_and_a_refused_change_is_none(api, session, uow_factory, receiver):
    register(api, receiver, ["stock.below_minimum", "job.status_changed"])
    level = session.scalars(select(StockLevel).where(
        StockLevel.min_level.is_not(None), StockLevel.min_level > 0,
        StockLevel.on_hand - StockLevel.reserved + StockLevel.in_transit > StockLevel.min_level + 1)).first()
    assert level is not None, "the demo data has a level above its minimum"
    location, sku = level.location.code, level.part.sku
    counted = level.min_level - level.in_transit + level.reserved
    for count in (counted, max(counted - 1, level.reserved)):  # falls to the minimum, then further
        adjusted = api.post("/api/v1/stock/adjustments", as_="admin", json={
            "location": location, "part_sku": sku, "counted": count, "reason": "stock take"})
        assert adjusted.status_code == 201, adjusted.json
    job = create_job(api, session)
    refused = api.post(f"/api/v1/jobs/{job['id']}/transitions", as_="admin", json={"to": "completed"})
    assert refused.status_code == 409  # refused: its transaction, and any event in it, rolled back
    deliver(uow_factory)
    assert receiver.types().count("stock.below_minimum") == 1
    [fell] = [item.json["data"] for item in receiver.received if item.type == "stock.below_minimum"]
    assert fell["part_id"] == str(level.part_id) and fell["min_level"] == level.min_level
    assert [item.json["data"]["status"] for item in receiver.received if item.type == "job.status_changed"] == [
        "dispatched"]
