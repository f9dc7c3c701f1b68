"""Webhook deliveries are enqueued when their transaction commits (dispatch.integrations.prompt),
so a receiver hears of a change without waiting for the ``deliver-webhooks`` cron task: through
HTTP, on RQ with a real ``SimpleWorker`` (fakeredis, and the real Redis of
DISPATCH_TEST_REDIS_URL when set), delivered to a real receiver on loopback. A rolled-back
transaction enqueues nothing; an enqueue that fails (Redis down) does not fail the request, and
the cron task sends the deliveries. The clock is the suite's frozen one throughout."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch import clock
from dispatch import runtime as task_runtime
from dispatch.app import create_app
from dispatch.clock import utcnow
from dispatch.integrations.enums import EventType
from dispatch.integrations.models import OutboundEvent, WebhookDelivery
from dispatch.integrations.outbox import Event, publish
from dispatch.ports import SESSION_TASK_QUEUE
from dispatch.queueing import InlineTaskQueue, RqTaskQueue
from dispatch.uow import UnitOfWork
from tests.api.jobs_builders import create_job, move
from tests.api.test_integrations_webhooks import register
from tests.helpers import Api
from tests.rq_worker import queued, run_worker
from workers import webhook_tasks


def test_an_event_made_through_http_is_delivered_at_once_without_the_cron(
        rq_redis, settings, session_factory, session, uow_factory, receiver):
    url, connection = rq_redis
    api = Api(create_app(settings.with_(redis_url=url), session_factory=session_factory).test_client())
    register(api, receiver)
    job = create_job(api, session)
    assert queued(connection) == [f"webhooks-job-{job['id']}"]  # after the commit, one task for the job
    assert receiver.received == []  # nothing was sent inside the request
    run_worker(connection, settings, uow_factory)
    assert receiver.types() == ["job.created", "job.status_changed", "job.dispatched"]
    assert all(item.signature_ok for item in receiver.received)
    assert {item.json["data"]["job_id"] for item in receiver.received} == {job["id"]}

    # The task's id is free again once it ran: the job's next commit queues it again.
    assert move(api, job, "cancelled", "admin", reason="customer asked").status_code == 200
    assert queued(connection) == [f"webhooks-job-{job['id']}"]
    # A burst of commits on another job queues one task for it.
    other = create_job(api, session)
    assert move(api, other, "cancelled", "admin", reason="duplicate call").status_code == 200
    assert queued(connection) == [f"webhooks-job-{job['id']}", f"webhooks-job-{other['id']}"]
    run_worker(connection, settings, uow_factory)
    assert queued(connection) == []
    seen = [(item.json["data"]["job_id"], item.type, item.json["data"]["status"]) for item in receiver.received[3:]]
    assert [entry for entry in seen if entry[0] == job["id"]] == [(job["id"], "job.status_changed", "cancelled")]
    assert [entry[1:] for entry in seen if entry[0] == other["id"]] == [
        ("job.created", "dispatched"), ("job.status_changed", "dispatched"), ("job.dispatched", "dispatched"),
        ("job.status_changed", "cancelled")]
    assert all(item.signature_ok for item in receiver.received)
    pending = session.scalar(select(func.count()).select_from(WebhookDelivery)
                             .where(WebhookDelivery.status == "pending"))
    assert pending == 0


def test_a_rolled_back_transaction_enqueues_nothing_and_a_savepoint_waits_for_the_commit(
        rq_redis, api, settings, session_factory, receiver):
    url, connection = rq_redis
    register(api, receiver, ["job.created"])
    tasks = RqTaskQueue(url)
    created = Event(EventType.JOB_CREATED, {"job_id": "x"}, "job:rolled-back")

    def uow() -> UnitOfWork:
        return UnitOfWork(session=session_factory(info={SESSION_TASK_QUEUE: tasks}))

    events_before = _count(session_factory, OutboundEvent)
    with pytest.raises(RuntimeError), uow() as work:
        publish(work.session, [created])
        raise RuntimeError("refused after the events were written")
    assert queued(connection) == [] and _count(session_factory, OutboundEvent) == events_before

    with uow() as work:
        savepoint = work.session.begin_nested()
        publish(work.session, [created])
        savepoint.commit()
        assert queued(connection) == []  # a savepoint released is not the transaction committed
        work.session.rollback()
    assert queued(connection) == []

    with uow() as work:
        publish(work.session, [created])
        work.commit()
    assert queued(connection) == ["webhooks-job-rolled-back"]


def test_a_failing_enqueue_does_not_fail_the_request_and_the_cron_sends_it(
        settings, session_factory, session, uow_factory, receiver, monkeypatch, caplog):
    import fakeredis

    server = fakeredis.FakeServer()
    monkeypatch.setattr("redis.Redis.from_url", lambda url, **kwargs: fakeredis.FakeRedis(server=server))
    api = Api(create_app(settings.with_(redis_url="redis://down.invalid/0"), session_factory=session_factory)
              .test_client())
    register(api, receiver, ["job.created"])
    server.connected = False  # Redis goes down (the admin's token was issued before)
    with caplog.at_level(logging.WARNING, logger="dispatch.integrations.prompt"):
        job = create_job(api, session)
    assert "not enqueued" in caplog.text and receiver.received == []
    later = utcnow() + timedelta(seconds=30)
    with clock.frozen(later), task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        assert webhook_tasks.deliver_webhooks()["succeeded"] == 1  # the cron's next run
    assert receiver.types() == ["job.created"] and receiver.received[0].json["data"]["job_id"] == job["id"]
    assert receiver.received[0].signature_ok


def test_inline_tasks_send_nothing_at_commit_the_cron_or_the_cli_does(app, api, session, receiver):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from dispatch.cli import main

    assert isinstance(app.extensions["dispatch"].task_queue, InlineTaskQueue)
    register(api, receiver, ["job.created"])
    job = create_job(api, session)
    assert receiver.received == []  # the request did not wait for the receiver
    assert app.extensions["dispatch"].task_queue.executed == []
    result = CliRunner().invoke(main, ["webhooks", "deliver"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "delivered 1, failed 0"
    assert receiver.types() == ["job.created"] and receiver.received[0].json["data"]["job_id"] == job["id"]


def _count(session_factory, model) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))
