"""The notification outbox on the database: atomic with its event, delivered with back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth.principal import SYSTEM
from dispatch.care import notifications, rules, tokens
from dispatch.care.models import Channel, Notification, NotificationStatus
from dispatch.care.templates import Template
from dispatch.clock import frozen, utcnow
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer
from tests.integration.care_support import (  # noqa: F401  (care_hooks_only is a fixture)
    TZ,
    RecordingSender,
    care_hooks_only,
    drive,
    local,
    next_weekday,
    qualified_technician,
    rating_token,
)

SECRET = "outbox-test-secret"
CTX = notifications.DeliveryContext(tz=TZ, secret_key=SECRET, feedback_link_base="https://rate.example/feedback/")


def _open_job(session, point: str = "HZ01") -> Job:
    return session.scalars(select(Job).where(Job.status == JobStatus.DISPATCHED, Job.reference.like(f"DEMO-{point}-%"))
                           .order_by(Job.reference).options(selectinload(Job.product))).first()


def _messages(session, job_id) -> list[Notification]:
    return session.scalars(select(Notification).where(Notification.job_id == job_id)
                           .execution_options(populate_existing=True)).all()


@pytest.mark.usefixtures("care_hooks_only")
class TestAtomicity:
    def test_a_failed_transaction_leaves_no_message(self, session, uow_factory):
        job = _open_job(session)
        start = local(next_weekday(utcnow().astimezone(TZ).date()), 10)
        technician = qualified_technician(session, job, start)
        with pytest.raises(RuntimeError, match="after the ETA message was written"), uow_factory() as uow:
            locked = jobs_service.get_visible_job(uow.session, SYSTEM, job.id, for_update=True)
            jobs_service.schedule_job(uow.session, locked, uow.session.get(type(technician), technician.id),
                                      start, SYSTEM, tz=TZ)
            uow.session.flush()
            assert [m.template for m in _messages(uow.session, job.id)] == [Template.JOB_SCHEDULED]
            raise RuntimeError("the request failed after the ETA message was written")
        assert _messages(session, job.id) == []

    def test_a_committed_change_leaves_exactly_its_message(self, session, uow_factory):
        job = _open_job(session)
        start = local(next_weekday(utcnow().astimezone(TZ).date()), 10)
        technician = qualified_technician(session, job, start)
        jobs_service.assign_job(uow_factory(), SYSTEM, job.id, technician_id=technician.id, scheduled_start=start,
                                tz=TZ)
        (message,) = _messages(session, job.id)
        customer = session.get(Customer, job.customer_id)
        assert (message.template, message.channel, message.recipient) == (Template.JOB_SCHEDULED, Channel.SMS,
                                                                          customer.phone)
        assert message.payload["eta"] == start.isoformat() and message.payload["technician"] == technician.name
        assert message.status == NotificationStatus.PENDING and message.service_point_id == job.service_point_id

    def test_the_visit_sends_en_route_and_completion_messages_with_a_rating_link(self, session, uow_factory):
        job = _open_job(session, "NB01")
        drive(uow_factory, job.id, start=local(next_weekday(utcnow().astimezone(TZ).date()), 11))
        assert [m.template for m in sorted(_messages(session, job.id), key=lambda m: m.created_at)] == [
            Template.JOB_SCHEDULED, Template.TECHNICIAN_EN_ROUTE, Template.JOB_COMPLETED]
        sender = RecordingSender()
        report = notifications.deliver_due(uow_factory, sender, CTX)
        assert report.sent == 3 and report.failed == 0
        completed = next(m for m in sender.sent if m.subject.endswith("已完成"))
        assert completed.body.count("https://rate.example/feedback/") == 1
        assert tokens.read(SECRET, rating_token(completed)) == job.id


def _queue(session, template: str = Template.MAINTENANCE_DUE, **payload) -> Notification:
    payload = payload or {"reference": "J-T", "product": "RO-500", "serial": "RO20250000001", "due_on": "2026-12-01"}
    message = notifications.queue(session, channel=Channel.SMS, recipient="13800000000", template=template,
                                  payload=payload)
    session.commit()
    return message


class TestDelivery:
    def test_due_messages_are_sent_once_and_marked_sent(self, session, uow_factory):
        message = _queue(session)
        sender = RecordingSender()
        first = notifications.deliver_due(uow_factory, sender, CTX)
        second = notifications.deliver_due(uow_factory, sender, CTX)
        assert first.sent == 1 and second.sent == 0 and len(sender.sent) == 1
        assert "将于 2026-12-01 到期保养" in sender.sent[0].body
        session.refresh(message)
        assert message.status == NotificationStatus.SENT and message.sent_at is not None and message.attempts == 1

    def test_failures_are_retried_with_exponential_back_off_and_then_stay_failed(self, session, uow_factory):
        t0 = utcnow().replace(microsecond=0)
        with frozen(t0):
            message = _queue(session)
        sender = RecordingSender(fail_first=100)
        now = t0
        for attempt in range(1, rules.MAX_ATTEMPTS + 1):
            with frozen(now):
                report = notifications.deliver_due(uow_factory, sender, CTX)
                assert notifications.deliver_due(uow_factory, sender, CTX).as_dict() == {
                    "sent": 0, "retrying": 0, "failed": 0}  # not due again before its back-off ends
            session.refresh(message)
            assert message.attempts == attempt and message.last_error == "SendError: gateway timeout"
            if attempt < rules.MAX_ATTEMPTS:
                assert report.retrying == 1 and message.status == NotificationStatus.PENDING
                assert message.next_attempt_at == now + timedelta(seconds=60 * 2 ** (attempt - 1))
                now = message.next_attempt_at
            else:
                assert report.failed == 1 and message.status == NotificationStatus.FAILED
        with frozen(now + timedelta(days=1)):
            assert notifications.deliver_due(uow_factory, sender, CTX).as_dict()["sent"] == 0
        failed, total = notifications.list_notifications(uow_factory(), SYSTEM, status=NotificationStatus.FAILED)
        assert total == 1 and failed[0].id == message.id
        retried = notifications.retry_notification(uow_factory(), SYSTEM, message.id)
        assert retried.status == NotificationStatus.PENDING and retried.attempts == 0
        assert notifications.deliver_due(uow_factory, RecordingSender(), CTX).sent == 1

    def test_a_message_that_fails_once_goes_out_on_the_next_attempt(self, session, uow_factory):
        t0 = utcnow()
        with frozen(t0):
            message = _queue(session)
            sender = RecordingSender(fail_first=1)
            assert notifications.deliver_due(uow_factory, sender, CTX).retrying == 1
        with frozen(t0 + timedelta(seconds=61)):
            assert notifications.deliver_due(uow_factory, sender, CTX).sent == 1
        session.refresh(message)
        assert message.status == NotificationStatus.SENT and message.attempts == 2

    def test_a_claimed_message_is_not_sent_twice_but_returns_after_its_lease(self, session, uow_factory):
        t0 = utcnow()
        with frozen(t0):
            _queue(session)
            claimed = notifications._claim(uow_factory, 10)  # a worker claims it, then dies
            assert len(claimed) == 1 and notifications._claim(uow_factory, 10) == []
        with frozen(t0 + timedelta(seconds=rules.CLAIM_LEASE_S + 1)):
            sender = RecordingSender()
            assert notifications.deliver_due(uow_factory, sender, CTX).sent == 1
        with frozen(t0):  # the dead worker's late outcome no longer applies (attempt 1 was superseded)
            assert notifications._record(uow_factory, claimed[0], None) == "superseded"

    def test_a_message_its_template_cannot_render_fails_at_once(self, session, uow_factory):
        message = _queue(session, Template.JOB_SCHEDULED, reference="J-1")  # facts missing
        report = notifications.deliver_due(uow_factory, RecordingSender(), CTX)
        session.refresh(message)
        assert report.failed == 1 and message.status == NotificationStatus.FAILED and message.attempts == 1
        assert message.last_error.startswith("cannot render job_scheduled")
