"""The outboxes' retention, through HTTP and the nightly task (workers.outbox_tasks.prune_outboxes):
delivered webhook deliveries leave the delivery log after 30 days, undelivered ones after 90, sent
customer messages leave the notification list after 30 days; what is younger stays, and a second run
changes nothing; HQ may run it now (POST /webhooks/pruning). The webhook outbox does not grow for
events nobody subscribes to. Every date is the suite's frozen clock moved forward."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from dispatch import clock
from dispatch import runtime as task_runtime
from dispatch.audit_log.models import LogEntry
from dispatch.care import notifications
from dispatch.care.models import Notification, NotificationStatus
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.integrations.models import OutboundEvent
from tests import webhook_receiver
from tests.api.jobs_builders import create_job, move
from tests.api.test_integrations_webhooks import deliver, register
from tests.helpers import assert_problem
from workers import care_tasks, outbox_tasks


def prune(settings, uow_factory) -> dict:
    """What the nightly cron entry runs."""
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        return outbox_tasks.prune_outboxes()


def log(api, endpoint: dict) -> list[tuple[str, str, str]]:
    """(job id, event type, status) of each delivery HQ's delivery log lists."""
    api._tokens.clear()  # a token from another day has expired
    answer = api.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries?page_size=100", as_="admin")
    assert answer.status_code == 200, answer.json
    return sorted((item["payload"]["data"]["job_id"], item["event_type"], item["status"]) for item in answer.json)


def events(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboundEvent))


def test_the_delivery_log_keeps_30_days_of_delivered_and_90_of_undelivered_deliveries(
        api, session, settings, uow_factory, receiver):
    failing, server = webhook_receiver.start()
    try:
        failing.always_fail = True
        erp = register(api, receiver)
        crm = register(api, failing, ["job.created"])
        start = utcnow()
        old = create_job(api, session)
        assert deliver(uow_factory).succeeded == 3
        assert log(api, crm) == [(old["id"], "job.created", "pending")]

        month = start + timedelta(days=31)
        with clock.frozen(month):
            api._tokens.clear()  # the tokens of another day have expired
            new = create_job(api, session)
            deliver(uow_factory)
            before = log(api, erp)
            assert {(job, status) for job, _, status in before} == {(old["id"], "succeeded"), (new["id"], "succeeded")}
            outcome = prune(settings, uow_factory)
            # the old job's deliveries to the ERP, and the two events only the ERP had
            assert outcome["webhooks"] == {"deliveries": 3, "events": 2, "complete": True}
            assert log(api, erp) == [entry for entry in before if entry[0] == new["id"]]
            assert log(api, crm) == sorted([(new["id"], "job.created", "pending"), (old["id"], "job.created", "pending")])
            kept = events(session)
            again = prune(settings, uow_factory)  # harmless twice
            assert again["webhooks"] == {"deliveries": 0, "events": 0, "complete": True}
            assert log(api, erp) == [entry for entry in before if entry[0] == new["id"]] and events(session) == kept

        with clock.frozen(start + timedelta(days=91)):

            api._tokens.clear()  # the tokens of another day have expired
            outcome = prune(settings, uow_factory)
            # the new job's delivered ones (60 days) and the old job's undelivered one (91 days)
            assert outcome["webhooks"] == {"deliveries": 4, "events": 3, "complete": True}
            assert log(api, erp) == []
            assert log(api, crm) == [(new["id"], "job.created", "pending")]  # 60 days undelivered: kept
            assert events(session) == kept - 3  # the old job's events, no delivery left
    finally:
        server.shutdown()
        server.server_close()
        api._tokens.clear()


def test_hq_prunes_the_outboxes_now_through_http(api, session, uow_factory, receiver):
    erp = register(api, receiver)
    start = utcnow()
    old = create_job(api, session)
    assert deliver(uow_factory).succeeded == 3
    with clock.frozen(start + timedelta(days=31)):
        api._tokens.clear()  # the tokens of another day have expired
        new = create_job(api, session)
        deliver(uow_factory)
        assert {job for job, _, _ in log(api, erp)} == {old["id"], new["id"]}
        assert_problem(api.post("/api/v1/webhooks/pruning", as_="manager.hz01"), 403)
        answer = api.post("/api/v1/webhooks/pruning", as_="admin")
        assert answer.status_code == 202, answer.json
        assert answer.json["task_id"].startswith("prune-outboxes-")
        assert {job for job, _, _ in log(api, erp)} == {new["id"]}  # the task ran (inline here)
        asked = session.scalars(select(LogEntry).where(LogEntry.kind == "outbox.prune_requested")).all()
        assert [entry.subject_id for entry in asked] == [answer.json["task_id"]]
    api._tokens.clear()


def _tell_hq(session, url: str) -> None:
    notifications.notify_hq(session, Template.WEBHOOK_DISABLED, {"endpoint_id": "e", "url": url,
                                                                 "failing_since": "", "last_error": ""})
    session.commit()


def _send(settings, uow_factory) -> None:
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        care_tasks.deliver_notifications()


def _listed(api, url: str) -> list[str]:
    api._tokens.clear()
    answer = api.get("/api/v1/notifications/?template=webhook_disabled&page_size=100", as_="admin")
    assert answer.status_code == 200, answer.json
    return sorted(item["status"] for item in answer.json if item["payload"]["url"] == url)


def test_sent_messages_leave_the_notification_list_after_30_days_and_ended_ones_after_90(
        api, session, settings, uow_factory):
    start = utcnow()
    _tell_hq(session, "https://old.example/hook")
    _send(settings, uow_factory)
    sent = _listed(api, "https://old.example/hook")
    assert sent and set(sent) == {"sent"}, "one message per HQ administrator, sent"
    ended = session.scalars(select(Notification).where(Notification.template == Template.WEBHOOK_DISABLED,
                                                        Notification.status == NotificationStatus.SENT)).first()
    ended.status = NotificationStatus.FAILED  # one that never reached its reader
    session.commit()

    with clock.frozen(start + timedelta(days=31)):
        _tell_hq(session, "https://new.example/hook")
        _send(settings, uow_factory)
        fresh = _listed(api, "https://new.example/hook")
        assert fresh and set(fresh) == {"sent"}
        first = prune(settings, uow_factory)["notifications"]
        assert first == {"notifications": len(sent) - 1, "unmatched_receipts": 0, "complete": True}
        assert _listed(api, "https://old.example/hook") == ["failed"]
        assert _listed(api, "https://new.example/hook") == fresh
        assert prune(settings, uow_factory)["notifications"] == {"notifications": 0, "unmatched_receipts": 0,
                                                                 "complete": True}
        assert _listed(api, "https://old.example/hook") == ["failed"]

    with clock.frozen(start + timedelta(days=91)):
        prune(settings, uow_factory)
        assert _listed(api, "https://old.example/hook") == [] and _listed(api, "https://new.example/hook") == []
    api._tokens.clear()


def test_the_outbox_does_not_grow_for_events_nobody_subscribes_to(api, session, receiver):
    before = events(session)
    job = create_job(api, session)
    assert move(api, job, "cancelled", "admin", reason="customer moved away").status_code == 200
    assert events(session) == before  # no endpoint at all

    register(api, receiver, ["complaint.opened"])
    create_job(api, session)
    assert events(session) == before  # an endpoint, but for other events

    endpoint = register(api, webhook_receiver.Receiver(url=receiver.url), ["job.created"])
    disabled = api.patch(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin", json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.json
    create_job(api, session)
    assert events(session) == before  # a disabled endpoint's subscription writes nothing

    api.patch(f"/api/v1/webhooks/endpoints/{endpoint['id']}", as_="admin", json={"status": "active"})
    create_job(api, session)
    assert events(session) == before + 1  # job.created, for the one endpoint that wants it


def test_the_pruning_runs_nightly_under_rq_cron_and_the_deliveries_every_30_seconds():
    from rq.cron import _job_data_registry

    import workers.cron  # noqa: F401  (registers on import)

    def entries(name: str) -> list[dict]:
        found = [j for j in _job_data_registry if j["name"] == name]
        assert found, name
        return found  # the same entry again when another test loaded workers.cron once more

    assert all(e["func"] is outbox_tasks.prune_outboxes and e["cron"] == "45 3 * * *" and e["queue_name"] == "cron"
               for e in entries("prune-outboxes"))
    assert all(e["interval"] == 30 for e in entries("deliver-webhooks"))
