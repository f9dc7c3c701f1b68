"""The service tier: services called directly, on an empty migrated database (no demo data, no
HTTP), with rows made by the small builders of :mod:`tests.services.builders` and a fake task
queue. Each test runs in a transaction that is rolled back, as in the rest of the suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatch import migrate, wiring
from dispatch.db import make_engine
from dispatch.uow import UnitOfWork
from tests.conftest import fresh_database_url
from tests.services.builders import Builders


class FakeTaskQueue:
    """Records what a service enqueued (the :class:`dispatch.ports.TaskQueue` port); runs nothing."""

    def __init__(self) -> None:
        self.enqueued: list[dict[str, Any]] = []

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600,
                forget_when_done: bool = False) -> None:
        if all(e["task_id"] != task_id for e in self.enqueued):  # the same id is queued once, as on RQ
            self.enqueued.append({"task": task, "args": args, "task_id": task_id, "queue": queue})

    def depths(self) -> dict[str, int]:
        return {}

    def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        return []


@pytest.fixture(scope="session")
def bare_engine(tmp_path_factory, worker_name):
    """An empty database made by Alembic, once per worker (no demo data)."""
    url = fresh_database_url(f"svc_{worker_name}", tmp_path_factory.mktemp("svc"))
    migrate.upgrade(url)
    wiring.install()
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def svc_session_factory(bare_engine) -> Iterator[sessionmaker[Session]]:
    with bare_engine.connect() as connection:
        outer = connection.begin()
        yield sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        outer.rollback()


@pytest.fixture
def uow(svc_session_factory):
    """A fresh unit of work per call, on the test's rolled-back connection."""
    return lambda: UnitOfWork(svc_session_factory)


@pytest.fixture
def make(svc_session_factory) -> Iterator[Builders]:
    with svc_session_factory() as session:
        yield Builders(session)


@pytest.fixture
def tasks() -> FakeTaskQueue:
    return FakeTaskQueue()
