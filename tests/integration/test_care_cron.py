"""The periodic care tasks as ``rq cron`` runs them, and the maintenance generation under
concurrency on PostgreSQL: one job per (plan, due date), however many runs overlap."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import fakeredis
import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import func, select

from dispatch import migrate
from dispatch import runtime as task_runtime
from dispatch.care import maintenance
from dispatch.care.models import MaintenanceOccurrence, MaintenancePlan
from dispatch.clock import utcnow
from dispatch.db import make_engine, make_session_factory
from dispatch.jobs.models import Job
from dispatch.network.models import JobType
from dispatch.uow import UnitOfWork
from seeds import SeedContext
from seeds import network as network_seed
from tests.dates import SUITE_TODAY
from tests.conftest import fresh_database_url
from tests.integration.care_support import TZ
from workers import cron as cron_config

TODAY = SUITE_TODAY


def _scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("workers.cron")
    return scheduler


def test_the_cron_configuration_schedules_every_care_task_on_the_cron_queue():
    jobs = {job.func_name: job for job in _scheduler(fakeredis.FakeStrictRedis()).get_jobs()}
    care = {"workers.care_tasks.deliver_notifications", "workers.care_tasks.escalate_overdue_complaints",
            "workers.care_tasks.sync_maintenance_plans", "workers.care_tasks.generate_maintenance_jobs"}
    assert care <= set(jobs)
    assert {jobs[name].queue_name for name in care} == {cron_config.QUEUE}
    assert jobs["workers.care_tasks.deliver_notifications"].interval == 60
    assert jobs["workers.care_tasks.generate_maintenance_jobs"].kwargs == {"lead_days": cron_config.MAINTENANCE_LEAD_DAYS}
    assert jobs["workers.care_tasks.generate_maintenance_jobs"].cron == "0 2 * * *"


def test_running_the_maintenance_cron_job_twice_creates_one_job(session, uow_factory, settings):
    plan = session.scalars(select(MaintenancePlan).where(MaintenancePlan.active.is_(True))
                           .order_by(MaintenancePlan.id)).first()
    plan.next_due_on = TODAY + timedelta(days=cron_config.MAINTENANCE_LEAD_DAYS - 1)
    session.commit()
    redis = fakeredis.FakeStrictRedis()
    (generate,) = [j for j in _scheduler(redis).get_jobs() if j.func_name.endswith("generate_maintenance_jobs")]
    first, second = generate.enqueue(redis), generate.enqueue(redis)  # e.g. two schedulers, or a rerun
    queue = Queue(cron_config.QUEUE, connection=redis)
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        SimpleWorker([queue], connection=redis).work(burst=True)
    first.refresh(), second.refresh()
    assert first.get_status() == second.get_status() == "finished"
    assert first.return_value()["created"] >= 1 and second.return_value()["created"] == 0
    jobs = session.scalars(select(Job).where(Job.unit_id == plan.unit_id, Job.type == JobType.MAINTENANCE,
                                             Job.reported_at >= utcnow() - timedelta(minutes=5))).all()
    assert len(jobs) == 1


@pytest.mark.postgres
def test_concurrent_generation_runs_on_postgresql_create_one_job_per_due_date(tmp_path, base_settings):
    url = fresh_database_url("care_cron", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            ctx = SeedContext(session=session, settings=base_settings, today=TODAY, rng=random.Random(1))
            network_seed.seed(ctx)
            maintenance.ensure_plans(session, today=TODAY, tz=TZ)
            plans = session.scalars(select(MaintenancePlan).order_by(MaintenancePlan.id)).all()
            for index, plan in enumerate(plans):  # eight due in three days, the rest paused
                plan.next_due_on, plan.active = TODAY + timedelta(days=3), index < 8
            due = {plan.id for plan in plans[:8]}
            session.commit()
        runs = 6
        barrier = threading.Barrier(runs)
        reports, errors = [], []

        def run() -> None:
            try:
                barrier.wait()
                reports.append(maintenance.generate_due_jobs(lambda: UnitOfWork(factory), today=TODAY, lead_days=14,
                                                             radius_km=30, tz=TZ))
            except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        created = [reference for report in reports for reference in report.created]
        print(f"\n{runs} concurrent runs: created {len(created)}, skipped as already done "
              f"{sum(r.already_done for r in reports)}, failed {sum(len(r.failed) for r in reports)}")
        with factory() as session:
            occurrences = session.execute(
                select(MaintenanceOccurrence.plan_id, func.count(), func.count(MaintenanceOccurrence.job_id))
                .group_by(MaintenanceOccurrence.plan_id)).all()
            assert {plan_id for plan_id, _, _ in occurrences} == due
            assert all(claims == 1 and linked == 1 for _, claims, linked in occurrences)
            jobs = session.execute(select(Job.unit_id, func.count()).where(Job.type == JobType.MAINTENANCE)
                                   .group_by(Job.unit_id)).all()
            assert len(jobs) == len(due) and all(count == 1 for _, count in jobs)
        assert len(created) == len(set(created)) == len(due)
    finally:
        engine.dispose()
