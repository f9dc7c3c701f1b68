"""Shared fixtures.

The schema is created by Alembic (never ``create_all``) and the demo data is loaded once per
test session; every test then runs inside an outer transaction that is rolled back at the end
(SQLAlchemy's "join an external transaction" recipe, made to work on SQLite by the hooks in
``dispatch.db.make_engine``). Set ``DISPATCH_TEST_DATABASE_URL`` to a PostgreSQL URL to run the
same suite on PostgreSQL; each xdist worker gets its own database.

The suite has one frozen "now" (``tests.dates.SUITE_NOW``); the demo data is seeded relative to it
and ``dispatch.clock`` stays frozen there for every test (a test moves it with ``clock.frozen``).
CI also runs the suite with the clock on a weekend at year end, so whatever the date, it must pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from dispatch import clock, migrate
from dispatch.app import create_app
from dispatch.config import Settings
from dispatch.db import make_engine
from dispatch.uow import UnitOfWork
from tests.dates import SUITE_NOW
from tests.helpers import Api
from tests.rq_worker import rq_redis  # noqa: F401 - RQ on fakeredis and the real Redis, for any test
from tests.webhook_receiver import receiver  # noqa: F401 - a webhook receiver on loopback, for any test

TEST_HASH = "scrypt:1024:8:1"  # still scrypt, cheaper parameters: tests log in hundreds of times
PG_URL = os.environ.get("DISPATCH_TEST_DATABASE_URL")
@pytest.fixture(scope="session", autouse=True)
def suite_clock() -> Iterator[datetime]:
    """Freeze ``dispatch.clock`` at :data:`SUITE_NOW` for the whole session."""
    with clock.frozen(SUITE_NOW):
        yield SUITE_NOW


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DISPATCH_TEST_DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set DISPATCH_TEST_REDIS_URL")
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("DISPATCH_TEST_REDIS_URL"):
            item.add_marker(skip_redis)


def fresh_database_url(name: str, tmp_dir: Path) -> str:
    """An empty database: a new SQLite file, or a freshly created PostgreSQL database."""
    if not PG_URL:
        return f"sqlite:///{tmp_dir / (name + '.db')}"
    url = make_url(Settings.from_env({"DATABASE_URL": PG_URL, "SECRET_KEY": "x"}).database_url)
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT", poolclass=None)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # two workers running one module's tests: two databases
    db_name = f"{url.database}_{name}{'_' + worker if worker and worker not in name else ''}".lower()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    admin.dispose()
    return url.set(database=db_name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def worker_name(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_name) -> str:
    return fresh_database_url(f"t_{worker_name}", tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def base_settings(database_url, tmp_path_factory) -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        upload_dir=instance / "uploads",
        instance_path=instance,
        password_hash_method=TEST_HASH,
        auth_rate_limit=(10_000, 60),
        auth_address_rate_limit=(10_000, 300),
        testing=True,
        webhook_allow_private_targets=True,  # the suite's receivers listen on loopback
    )


@pytest.fixture(scope="session")
def engine(database_url, base_settings, suite_clock):
    """Schema by Alembic, then the demo data, committed once for the whole session."""
    engine = make_engine(database_url)
    migrate.upgrade(database_url)
    from seeds import load_demo

    load_demo(sessionmaker(bind=engine, expire_on_commit=False), base_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine) -> Iterator:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def session_factory(connection):
    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def uow_factory(session_factory):
    return lambda: UnitOfWork(session_factory)


@pytest.fixture
def settings(base_settings, tmp_path) -> Settings:
    return base_settings.with_(upload_dir=tmp_path / "uploads")


@pytest.fixture
def app(settings, session_factory):
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> Api:
    return Api(client)
