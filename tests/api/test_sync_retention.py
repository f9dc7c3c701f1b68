"""Sync history retention: compaction changes no pull, expired removals move the floor (old
cursors reset, newer ones carry on), idempotency records expire, the nightly task is idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from dispatch import clock
from dispatch import runtime as task_runtime
from dispatch.sync import retention
from dispatch.idempotency.models import IdempotencyRecord
from dispatch.sync.models import FeedEntry
from tests.api.test_sync import DEVICE, NOW, assign, frozen_now, job_ids, new_job, pull, push  # noqa: F401
from tests.api.test_sync import tech1, tech2  # noqa: F401 (fixtures)
from tests.dates import SUITE_NOW
from tests.helpers import assert_problem
from workers import sync_tasks


def feed_size(session) -> int:
    return session.scalar(select(func.count()).select_from(FeedEntry))


def drained(api, cursor=None, user="tech.hz01.1"):
    """Pull until ``has_more`` is false: (upserted job documents by id, removed ids, cursor)."""
    upserted, removed = {}, set()
    while True:
        page = pull(api, user=user, cursor=cursor)
        for doc in page["changes"]["jobs"]["upserted"]:
            upserted[doc["id"]] = doc
        removed |= set(page["changes"]["jobs"]["removed"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return upserted, removed, cursor


def test_compaction_deletes_superseded_entries_and_changes_no_pull(api, session, uow_factory, tech1):
    _, _, start = drained(api)
    first, second = new_job(api), new_job(api)
    for hour in (10, 11, 12):  # three schedules of the same job: one entry each
        assign(api, first, tech1, hour)
    assign(api, second, tech1, 14)
    before_docs, before_removed, _ = drained(api, start)
    size = feed_size(session)

    report = retention.prune_history(uow_factory(), now=NOW)

    assert report.superseded_entries >= 2 and report.floors_raised == 0
    assert feed_size(session) == size - report.superseded_entries
    after_docs, after_removed, _ = drained(api, start)
    assert {first, second} <= set(after_docs)
    assert after_docs == before_docs and after_removed == before_removed


def test_expired_removals_raise_the_floor_old_cursors_reset_newer_ones_carry_on(
        api, session, uow_factory, tech1, tech2):
    _, _, old = drained(api)
    job_id = new_job(api)
    assign(api, job_id, tech1, 10)
    assign(api, job_id, tech2, 10, reason="moved to a colleague")
    _, removed, recent = drained(api, old)
    assert job_id in removed

    # younger than the retention: the demo's removals (of the suite's day) and this one (NOW, later)
    assert retention.prune_history(uow_factory(), now=SUITE_NOW + timedelta(days=29)).floors_raised == 0
    later = NOW + timedelta(days=retention.TOMBSTONE_RETENTION_DAYS + 1)
    with clock.frozen(later):
        api._tokens.clear()  # a month later: sign in again
        report = retention.prune_history(uow_factory(), now=later)
        assert report.floors_raised >= 1 and report.expired_entries >= 1
        body = assert_problem(api.get(f"/api/v1/sync/changes?cursor={old}", as_="tech.hz01.1"), 410)
        assert body["reset_required"] is True
        assert api.get(f"/api/v1/sync/changes?cursor={recent}", as_="tech.hz01.1").status_code == 200
        assert pull(api)["snapshot"] is True  # the reset: a fresh snapshot works


def test_the_nightly_task_expires_idempotency_records_and_is_idempotent(api, session, uow_factory, settings, tech1):
    job_id = new_job(api)
    assign(api, job_id, tech1)
    note = [{"id": 1, "kind": "note", "payload": {"job_id": job_id, "text": "ring twice"}}]
    assert push(api, note, key="retention-key").status_code == 200
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1

    runtime = task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)
    with task_runtime.use(runtime), clock.frozen(NOW + timedelta(hours=retention.IDEMPOTENCY_RETENTION_HOURS + 1)):
        first = sync_tasks.prune_sync_history()
        second = sync_tasks.prune_sync_history()
    assert first["idempotency_records"] == 1
    assert second == {name: 0 for name in first}
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_the_task_is_registered_with_rq_cron_nightly():
    import workers.cron  # noqa: F401  (registers on import)
    from rq.cron import _job_data_registry

    (entry,) = [j for j in _job_data_registry if j["name"] == "prune-sync-history"]
    assert entry["func"] is sync_tasks.prune_sync_history
    assert entry["cron"] == "15 3 * * *" and entry["queue_name"] == "cron"
