"""An ERP told at once, through HTTP, with the tasks on RQ (fakeredis, and the real Redis when
DISPATCH_TEST_REDIS_URL is set): HQ registers the ERP's receiver (a real HTTP server on loopback)
for a job's milestones; a repair is taken in, booked, worked and completed; after each call the
worker (``python -m workers``' queue, never the ``deliver-webhooks`` cron task) has the ERP told of
what that call did: job.created and job.dispatched, then job.scheduled, then job.completed, each
once, signed, in the order they happened. Calls that change nothing the ERP asked for queue
nothing."""

from __future__ import annotations

from datetime import timedelta

from dispatch.app import create_app
from tests.dates import SUITE_NOW, SUITE_TODAY
from tests.helpers import Api
from tests.rq_worker import queued, run_worker
from tests.scenarios import steps
from tests.scenarios.steps import ADMIN, API, Walk, ok

MANAGER = "manager.hz01"
MILESTONES = ["job.created", "job.dispatched", "job.scheduled", "job.completed"]


def test_an_erp_is_told_of_each_milestone_right_after_the_call_that_made_it(
        rq_redis, settings, session_factory, session, uow_factory, receiver):
    url, connection = rq_redis
    api = Api(create_app(settings.with_(redis_url=url), session_factory=session_factory).test_client())
    walk = Walk(api, SUITE_NOW)
    try:
        endpoint = ok(api.post(f"{API}/webhooks/endpoints", as_=ADMIN, json={
            "url": receiver.url, "description": "ERP", "event_types": MILESTONES}), 201)
        receiver.secret = endpoint["secret"]

        def told() -> list[str]:
            """The worker runs what the last call queued; what the ERP has heard so far."""
            run_worker(connection, settings, uow_factory)
            return receiver.types()

        day = steps.next_working_day(api, MANAGER, SUITE_TODAY)
        unit = steps.caller_unit(session, "HZ01", covered=True, on=day)
        taken = steps.take_in(api, steps.repair_call(unit, day, (9, 18), "purifier leaks")).json
        assert queued(connection) == [f"webhooks-job-{taken['id']}"]
        assert told() == ["job.created", "job.dispatched"]

        worker = steps.team(api, MANAGER)[0]
        start = steps.free_hour(api, MANAGER, worker["id"], day, earliest=10)
        steps.book(api, MANAGER, taken["id"], worker["id"], start)
        assert told() == ["job.created", "job.dispatched", "job.scheduled"]

        tech = worker["username"]
        walk.to(start - timedelta(minutes=15))
        steps.transition(api, taken["id"], "en_route", tech, walk.now)
        walk.to(start)
        steps.transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
        assert queued(connection) == []  # nothing the ERP subscribed to: no task at all
        walk.to(start + timedelta(minutes=50))
        steps.fill_repair_checklist(api, taken["id"], tech, start, taken["location"])
        steps.record_fault_cause(api, taken["id"], "WP-VLV-STUCK", tech)
        walk.to(start + timedelta(minutes=55))
        steps.transition(api, taken["id"], "completed", tech, walk.now)
        assert told() == MILESTONES

        assert all(item.signature_ok for item in receiver.received)
        assert {item.json["data"]["job_id"] for item in receiver.received} == {taken["id"]}
        assert len({item.headers["webhook-id"] for item in receiver.received}) == len(MILESTONES)
        log = ok(api.get(f"{API}/webhooks/endpoints/{endpoint['id']}/deliveries", as_=ADMIN))
        assert sorted((d["event_type"], d["status"], d["attempts"]) for d in log) == sorted(
            (kind, "succeeded", 1) for kind in MILESTONES)
    finally:
        walk.close()
        api._tokens.clear()
