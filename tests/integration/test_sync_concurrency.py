"""On PostgreSQL, with real concurrent transactions: a write committed while a device is paging
is never skipped, because feed sequence numbers follow commit order; writers and the retention
task never deadlock on the feed's counters."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import migrate
from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import make_engine, make_session_factory
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Technician
from dispatch.sync import service
from dispatch.sync.models import FeedEntry
from dispatch.uow import UnitOfWork
from seeds import load_demo
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def factory(tmp_path_factory, base_settings):
    url = fresh_database_url("sync_race", tmp_path_factory.mktemp("sync"))
    engine = make_engine(url)
    migrate.upgrade(url)
    factory = make_session_factory(engine)
    load_demo(factory, base_settings)
    yield factory
    engine.dispose()


def _assign(job: Job, technician: Technician, hours_ahead: int) -> None:
    job.technician_id = technician.id
    job.status = JobStatus.SCHEDULED
    job.scheduled_start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    job.scheduled_end = job.scheduled_start + timedelta(hours=1)


def test_a_write_committed_late_during_paging_is_not_skipped(factory, base_settings):
    with factory() as session:
        technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                    .where(User.username == "tech.sz01.1"))
        user = session.get(User, technician.user_id)
        principal = Principal(user_id=user.id, username=user.username, role=Role.TECHNICIAN,
                              service_point_id=user.service_point_id, technician_id=technician.id)
        free = session.scalars(select(Job.id).where(Job.technician_id.is_(None),
                                                    Job.service_point_id == technician.service_point_id)
                               .limit(3)).all()
    assert len(free) == 3, "the demo day has unassigned jobs at SZ01"
    config = service.SyncConfig(secret_key=base_settings.secret_key)
    cursor = service.pull(UnitOfWork(factory), principal, config, cursor=None)["next_cursor"]

    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer():  # flushes its change first, commits last
        try:
            with factory() as session:
                tech = session.get(Technician, technician.id)
                _assign(session.get(Job, free[0]), tech, 2)
                session.flush()
                holding.set()
                release.wait(10)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            holding.set()

    def quick_writer():
        try:
            with factory() as session:
                _assign(session.get(Job, free[1]), session.get(Technician, technician.id), 3)
                session.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert holding.wait(10)
    quick = threading.Thread(target=quick_writer)
    quick.start()
    quick.join(10)
    # Counters are taken at commit, not at flush: the open writer does not hold the quick one up.
    assert not quick.is_alive(), "a flushed but uncommitted writer must not block another one"
    page = service.pull(UnitOfWork(factory), principal, config, cursor=cursor)  # pages while one is open
    seen = {doc["id"] for doc in page["changes"]["jobs"]["upserted"]}
    assert str(free[1]) in seen and str(free[0]) not in seen
    release.set()
    slow.join(10)
    assert not errors, errors

    later = service.pull(UnitOfWork(factory), principal, config, cursor=page["next_cursor"])
    seen = {doc["id"] for doc in later["changes"]["jobs"]["upserted"]}
    assert str(free[0]) in seen, "the write committed late comes after the cursor: not skipped"
    with factory() as session:
        seqs = session.scalars(select(FeedEntry.seq).where(FeedEntry.user_id == user.id)
                               .order_by(FeedEntry.seq)).all()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gaps: sequence order is commit order"


def test_concurrent_pushes_of_the_same_batch_apply_it_once(factory):
    with factory() as session:
        technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                    .where(User.username == "tech.sz01.2"))
        user = session.get(User, technician.user_id)
        job = session.scalar(select(Job).where(Job.technician_id.is_(None),
                                               Job.service_point_id == technician.service_point_id).offset(5))
        _assign(job, technician, 4)
        session.commit()
        principal = Principal(user_id=user.id, username=user.username, role=Role.TECHNICIAN,
                              service_point_id=user.service_point_id, technician_id=technician.id)
    device = uuid.uuid4()
    batch = [{"id": n, "kind": "note", "payload": {"job_id": str(job.id), "text": f"note {n}"},
              "recorded_at": datetime.now(UTC)} for n in (1, 2, 3)]
    outcomes: list[object] = []

    def send():
        try:
            outcomes.append(service.push(UnitOfWork(factory), principal, device_id=device, mutations=batch).body)
        except Exception as exc:  # noqa: BLE001 - a concurrent duplicate may be refused
            outcomes.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    applied = sum(r["status"] == "applied" for body in outcomes if isinstance(body, dict) for r in body["results"])
    assert applied == 3
    with factory() as session:
        from dispatch.jobs.models import EventKind, JobEvent

        notes = session.scalars(select(JobEvent.reason).where(JobEvent.job_id == job.id,
                                                              JobEvent.kind == EventKind.NOTE)).all()
    assert sorted(notes) == ["note 1", "note 2", "note 3"]


def test_retention_running_next_to_writers_neither_deadlocks_nor_breaks_the_feed(factory, base_settings):
    """Jobs go back and forth between two technicians (removals and puts in both feeds) while the
    retention task, told that a month has passed, raises floors and compacts again and again."""
    from dispatch.sync import retention
    from dispatch.sync.models import SyncCounter

    with factory() as session:
        technicians = session.scalars(select(Technician).join(User, User.id == Technician.user_id)
                                      .where(User.username.in_(("tech.sz01.3", "tech.sz01.4")))
                                      .order_by(User.username)).all()
        users = [t.user_id for t in technicians]
        jobs = session.scalars(select(Job.id).where(Job.technician_id.is_(None),
                                                    Job.service_point_id == technicians[0].service_point_id)
                               .offset(8).limit(4)).all()
    assert len(technicians) == 2 and len(jobs) == 4
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(job_ids):
        try:
            for round_ in range(12):
                with factory() as session:
                    for k, job_id in enumerate(job_ids):
                        tech = session.get(Technician, technicians[(round_ + k) % 2].id)
                        _assign(session.get(Job, job_id), tech, 2 + k)
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def pruner():
        try:
            while not stop.is_set():
                retention.prune_history(UnitOfWork(factory), now=utcnow() + timedelta(days=40))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(jobs[:2],)), threading.Thread(target=writer, args=(jobs[2:],)),
               threading.Thread(target=pruner)]
    for thread in threads:
        thread.start()
    for thread in threads[:2]:
        thread.join(60)
    stop.set()
    threads[2].join(60)
    assert not errors, errors

    config = service.SyncConfig(secret_key=base_settings.secret_key)
    with factory() as session:
        for technician, user_id in zip(technicians, users, strict=True):
            counter = session.get(SyncCounter, user_id)
            seqs = session.scalars(select(FeedEntry.seq).where(FeedEntry.user_id == user_id)).all()
            assert counter.floor_seq > 0 and counter.floor_seq <= counter.last_seq
            assert all(counter.floor_seq < seq <= counter.last_seq for seq in seqs)
            user = session.get(User, user_id)
            principal = Principal(user_id=user_id, username=user.username, role=Role.TECHNICIAN,
                                  service_point_id=user.service_point_id, technician_id=technician.id)
            page = service.pull(UnitOfWork(factory), principal, config, cursor=None)
            mine = {str(j) for j in session.scalars(select(Job.id).where(Job.id.in_(jobs),
                                                                         Job.technician_id == technician.id))}
            assert mine <= {doc["id"] for doc in page["changes"]["jobs"]["upserted"]}
