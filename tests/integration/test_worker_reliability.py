"""A real RQ worker (``python -m workers``) killed with SIGKILL in the middle of a task: nothing
half-done is left, RQ retries the task (the production ``Retry`` of dispatch.queueing) and the
retry completes it, each effect exactly once.

The task is the maintenance job generation (``workers.care_tasks.generate_maintenance_jobs``),
requested through the API as HQ does: it creates one maintenance job per due plan, each in its
own transaction with the claim of that due date. The test holds a row lock on the fifth due
plan, so the work horse is deterministically stuck in the middle (four plans done, the fifth
half-written in an open transaction) when it is killed.

Route planning (``plan_routes``) is not used here: a plan whose run died stays claimed until its
lease (time limit + 5 min) runs out, so its retry rightly skips it and only a later request
revives it (tests/integration/test_routing_plans.py).

RQ notices a dead worker once the job's heartbeat expires (at least 60 s) and the dead
scheduler's lock once it expires (61 s). The test fast-forwards both (the registry clean-up a
surviving worker's maintenance would run, with a timestamp past that window; the stale lock
removed) instead of sleeping; the retry then waits out the real first back-off (10 s).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from dispatch.app import create_app
from dispatch.care.maintenance import GENERATE_TASK
from dispatch.care.models import MaintenanceOccurrence, MaintenancePlan
from dispatch.care.rules import creation_horizon
from dispatch.clock import utcnow
from dispatch.config import Settings
from dispatch.db import make_engine
from dispatch.jobs.models import Job
from dispatch.network.models import JobType
from tests.conftest import TEST_HASH
from tests.helpers import Api
from tests.processes import SECRET, environment, kill, seeded_database, start, stop, wait_until

pytestmark = pytest.mark.redis

LEAD_DAYS = 60
STUCK_AT = 4  # plans done before the worker is stuck on the next one


@pytest.fixture
def redis_url():
    from redis import Redis

    url = os.environ["DISPATCH_TEST_REDIS_URL"].rsplit("/", 1)[0] + "/7"  # a database of its own
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


def _due_plans(session: Session, tz: ZoneInfo) -> list:
    today = utcnow().astimezone(tz).date()
    return list(session.scalars(select(MaintenancePlan.id).where(
        MaintenancePlan.active.is_(True), MaintenancePlan.next_due_on <= creation_horizon(today, LEAD_DAYS))
        .order_by(MaintenancePlan.next_due_on, MaintenancePlan.id)))


def _done(session: Session) -> tuple[int, int, int]:
    """(claimed due dates, of which linked to a job, maintenance jobs)."""
    claims = session.scalar(select(func.count()).select_from(MaintenanceOccurrence))
    linked = session.scalar(select(func.count()).select_from(MaintenanceOccurrence)
                            .where(MaintenanceOccurrence.job_id.is_not(None)))
    jobs = session.scalar(select(func.count()).select_from(Job).where(Job.type == JobType.MAINTENANCE))
    return claims, linked, jobs


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_mid_task_leaves_no_partial_result_and_the_retry_completes_it_once(tmp_path, redis_url):
    from redis import Redis
    from rq import Queue
    from rq.job import Job as RqJob
    from rq.job import JobStatus
    from rq.serializers import JSONSerializer

    url = seeded_database("worker_kill", tmp_path, ["seeds.network", "seeds.care"])
    tz = ZoneInfo("Asia/Shanghai")
    engine = make_engine(url)
    redis = Redis.from_url(redis_url)
    queue = Queue("default", connection=redis, serializer=JSONSerializer)
    env = environment(tmp_path, DATABASE_URL=url, REDIS_URL=redis_url)
    first_log, second_log = tmp_path / "worker1.log", tmp_path / "worker2.log"
    with Session(engine) as session:
        due = _due_plans(session, tz)
        assert _done(session) == (0, 0, 0)
    assert len(due) > STUCK_AT + 5

    app = create_app(Settings(database_url=url, secret_key=SECRET, redis_url=redis_url, upload_dir=tmp_path / "up",
                              instance_path=tmp_path, password_hash_method=TEST_HASH))
    first = second = None
    try:
        with engine.connect() as blocker:  # holds plan STUCK_AT: its claim cannot be written
            held = blocker.begin()
            blocker.execute(select(MaintenancePlan.id).where(MaintenancePlan.id == due[STUCK_AT]).with_for_update())
            requested = Api(app.test_client()).post("/api/v1/maintenance-plans/generation", as_="admin",
                                                    json={"lead_days": LEAD_DAYS})
            assert requested.status_code == 202, requested.json
            task_id = requested.json["task_id"]
            rq_job = RqJob.fetch(task_id, connection=redis, serializer=JSONSerializer)
            assert rq_job.func_name == GENERATE_TASK and rq_job.retries_left == 3

            first = start(["-m", "workers", "default"], env, first_log)

            def stuck() -> bool:
                with Session(engine) as session:
                    waiting = session.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"))
                    return waiting >= 1 and _done(session)[0] == STUCK_AT

            wait_until(stuck, timeout_s=60, what="the work horse to block on the held plan", log=first_log)
            assert rq_job.get_status(refresh=True) == JobStatus.STARTED
            kill(first)
            held.rollback()

        def orphan_gone() -> bool:  # the killed horse's server session notices its client is gone
            with Session(engine) as session:
                return session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid() AND state <> 'idle'")) == 0

        wait_until(orphan_gone, timeout_s=30, what="the killed worker's database session to end")
        with Session(engine) as session:
            claims, linked, jobs = _done(session)
        assert (claims, linked, jobs) == (STUCK_AT, STUCK_AT, STUCK_AT), "every claim has its job, nothing half-done"
        with Session(engine) as session:
            stuck_plan = session.scalar(select(func.count()).select_from(MaintenanceOccurrence)
                                        .where(MaintenanceOccurrence.plan_id == due[STUCK_AT]))
        assert stuck_plan == 0
        assert rq_job.get_status(refresh=True) == JobStatus.STARTED  # RQ does not know yet

        # What a surviving worker's maintenance does once the dead one's heartbeat has lapsed.
        queue.started_job_registry.cleanup(timestamp=time.time() + timedelta(hours=1).total_seconds())
        assert rq_job.get_status(refresh=True) == JobStatus.SCHEDULED
        rq_job.refresh()
        assert rq_job.retries_left == 2
        redis.delete("rq:scheduler-lock:default")  # the dead worker's scheduler lock, 61 s early

        second = start(["-m", "workers", "default"], env, second_log)
        wait_until(lambda: rq_job.get_status(refresh=True) == JobStatus.FINISHED, timeout_s=60,
                   what="the retried task to finish", log=second_log)
        outcome = rq_job.return_value(refresh=True)
        assert outcome["created"] == len(due) - STUCK_AT and outcome["failed"] == 0
        with Session(engine) as session:
            assert _done(session) == (len(due), len(due), len(due))
            per_plan = session.execute(select(MaintenanceOccurrence.plan_id, func.count())
                                       .group_by(MaintenanceOccurrence.plan_id)).all()
        assert sorted(plan for plan, _ in per_plan) == sorted(due) and {n for _, n in per_plan} == {1}
        assert len(queue.failed_job_registry) == 0
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
        engine.dispose()
        app.extensions["dispatch"].engine.dispose()


def test_failed_tasks_of_the_app_queues_and_of_the_cron_queue_are_listed_for_admins(settings, session_factory,
                                                                                    redis_url):
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    redis = Redis.from_url(redis_url)
    app_queue = Queue("notifications", connection=redis, serializer=JSONSerializer)
    app_queue.enqueue("workers.care_tasks.no_such_task", 7, job_id="notify-7")
    SimpleWorker([app_queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    cron = Queue("cron", connection=redis)  # as rq cron enqueues: RQ's default serializer
    cron.enqueue("workers.care_tasks.no_such_periodic_task", job_id="nightly-1")
    SimpleWorker([cron], connection=redis).work(burst=True)

    api = Api(create_app(settings.with_(redis_url=redis_url), session_factory=session_factory).test_client())
    failed = api.get("/api/v1/admin/tasks/failed", as_="admin")
    assert failed.status_code == 200, failed.json
    assert {(row["id"], row["queue"], row["task"]) for row in failed.json} == {
        ("notify-7", "notifications", "workers.care_tasks.no_such_task"),
        ("nightly-1", "cron", "workers.care_tasks.no_such_periodic_task")}
    assert all("Invalid attribute name: no_such" in row["error"] for row in failed.json)
    assert next(row["args"] for row in failed.json if row["id"] == "notify-7") == [7]
    depths = api.get("/api/v1/admin/tasks/queues", as_="admin").json["queues"]
    assert depths == {"default": 0, "routing": 0, "notifications": 0, "cron": 0}
