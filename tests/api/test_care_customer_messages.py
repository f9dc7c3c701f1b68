"""What the customer is texted about their visit, through HTTP on a frozen clock: one pending
message per job and purpose (a newer one supersedes an unsent older one), every time in the
customer's local time, and no message about a time already past."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from dispatch import clock
from dispatch.care import notifications
from dispatch.care.models import Notification, NotificationStatus
from tests.api.jobs_builders import MONDAY, TUESDAY, TZ, assign, create_job, local, move, technician
from tests.helpers import assert_problem
from tests.integration.care_support import RecordingSender, care_hooks_only  # noqa: F401  (a fixture)

MANAGER, TECH = "manager.hz01", "tech.hz01.1"
WEDNESDAY = TUESDAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def monday(care_hooks_only):  # noqa: F811
    with clock.frozen(MONDAY):
        yield MONDAY


def outbox(api, job, **query) -> list[dict]:
    params = "".join(f"&{k}={v}" for k, v in query.items())
    response = api.get(f"/api/v1/notifications/?job_id={job['id']}&page_size=100{params}", as_=MANAGER)
    assert response.status_code == 200, response.json
    return response.json


def deliver(uow_factory, settings) -> RecordingSender:
    sender = RecordingSender()
    ctx = notifications.DeliveryContext(tz=TZ, secret_key=settings.secret_key)
    notifications.deliver_due(uow_factory, sender, ctx)
    return sender


def schedule(api, session, job, start: datetime):
    response = assign(api, job, technician(session, TECH).id, start, reason="customer asked")
    assert response.status_code == 200, response.json


def test_rescheduling_leaves_one_pending_message_with_the_latest_time(api, session):
    job = create_job(api, session)
    for start in (local(TUESDAY, 10), local(TUESDAY, 14), local(WEDNESDAY, 9)):
        schedule(api, session, job, start)
    messages = [m for m in outbox(api, job) if m["template"] == "job_scheduled"]
    assert sorted(m["status"] for m in messages) == ["pending", "superseded", "superseded"]
    [pending] = outbox(api, job, status="pending")
    assert pending["payload"]["eta"] == local(WEDNESDAY, 9).isoformat()  # local time, +08:00
    assert {m["payload"]["eta"] for m in messages if m["status"] == "superseded"} == {
        local(TUESDAY, 10).isoformat(), local(TUESDAY, 14).isoformat()}


def test_every_time_in_a_message_is_the_customers_local_time(api, session, uow_factory, settings):
    job = create_job(api, session)
    schedule(api, session, job, local(TUESDAY, 10, 30).astimezone(UTC))  # the client sent UTC
    [pending] = outbox(api, job, status="pending")
    assert pending["payload"]["eta"] == local(TUESDAY, 10, 30).isoformat()
    sent = deliver(uow_factory, settings).sent
    [text] = [m.body for m in sent if job["reference"] in m.body]
    assert f"{TUESDAY} 10:30" in text and "02:30" not in text


def test_a_cancelled_visit_drops_its_unsent_schedule_message(api, session):
    job = create_job(api, session)
    schedule(api, session, job, local(TUESDAY, 10))
    assert move(api, job, "cancelled", MANAGER, reason="customer cancelled").status_code == 200
    assert outbox(api, job, status="pending") == []
    assert [m["status"] for m in outbox(api, job) if m["template"] == "job_scheduled"] == ["superseded"]


def test_a_schedule_message_whose_time_passed_before_it_went_out_is_not_sent(api, session, uow_factory, settings):
    job = create_job(api, session)
    schedule(api, session, job, local(TUESDAY, 10))
    with clock.frozen(local(TUESDAY, 11)):  # the outbox was down until after the visit's time
        sent = deliver(uow_factory, settings).sent
    assert not [m for m in sent if job["reference"] in m.body]
    [message] = outbox(api, job)
    assert message["status"] == "expired" and "passed" in message["last_error"]


def test_on_the_way_carries_an_eta_only_when_it_is_today_and_still_ahead(api, session, uow_factory, settings):
    later = create_job(api, session)
    schedule(api, session, later, local(TUESDAY, 10))  # going out on Monday for Tuesday's slot
    assert move(api, later, "en_route", TECH).status_code == 200
    [en_route] = [m for m in outbox(api, later) if m["template"] == "technician_en_route"]
    assert en_route["payload"]["eta"] is None
    text = next(m.body for m in deliver(uow_factory, settings).sent if "正在前往" in m.body)  # zh-CN by default
    assert str(TUESDAY) not in text and text.endswith("正在前往服务单 " + later["reference"] + " 的路上。")


def test_retrying_a_failed_message_that_a_newer_one_replaced_is_refused(api, session):
    job = create_job(api, session)
    schedule(api, session, job, local(TUESDAY, 10))
    [first] = outbox(api, job)
    session.execute(update(Notification).where(Notification.id == uuid.UUID(first["id"]))
                    .values(status=NotificationStatus.FAILED, attempts=6, last_error="SendError: gateway timeout"))
    session.commit()  # the gateway gave up on it
    schedule(api, session, job, local(TUESDAY, 15))
    assert_problem(api.post(f"/api/v1/notifications/{first['id']}/retry", as_=MANAGER), 409)
    assert sorted(m["status"] for m in outbox(api, job)) == ["failed", "pending"]
