"""A fresh, empty database for a benchmark: a temporary SQLite file, or a PostgreSQL database
dropped and created again under ``name`` next to the one ``url`` names.

Imported by the benchmark scripts (their directory is on ``sys.path`` when run as scripts).
``DISPATCH_BENCH_DB_PREFIX`` prefixes every benchmark database's name, so that engineers sharing
one PostgreSQL server never drop each other's.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import make_url

from dispatch.config import Settings
from dispatch.db import make_engine


def fresh_database(url: str | None, name: str) -> str:
    name = os.environ.get("DISPATCH_BENCH_DB_PREFIX", "") + name
    if not url:
        return f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
    parsed = make_url(Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "x"}).database_url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def technician_with_jobs(session, count: int = 30):
    """Give the first technician (by username) ``count`` scheduled jobs in the sync window, and
    return (technicians as (Technician, username) rows, that technician's username)."""
    from sqlalchemy import select

    from dispatch.auth.models import User
    from dispatch.clock import utcnow
    from dispatch.jobs.models import Job, JobStatus
    from dispatch.network.models import Technician

    technicians = session.execute(select(Technician, User.username).join(User, User.id == Technician.user_id)
                                  .order_by(User.username)).all()
    first, first_name = technicians[0]
    jobs = session.scalars(select(Job).where(Job.service_point_id == first.service_point_id)
                           .order_by(Job.reference)).all()
    if len(jobs) < count:
        jobs += session.scalars(select(Job).where(Job.service_point_id != first.service_point_id)
                                .limit(count - len(jobs))).all()
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    for n, job in enumerate(jobs[:count]):
        job.technician_id, job.status = first.id, JobStatus.SCHEDULED
        job.service_point_id = first.service_point_id
        job.scheduled_start = start + timedelta(hours=n % 48)
        job.scheduled_end = job.scheduled_start + timedelta(hours=1)
    session.commit()
    return technicians, first_name


def demo_database(url: str | None, name: str):
    """A fresh database (see :func:`fresh_database`) migrated and holding the demo data, with the
    settings an in-process app needs: (url, settings, engine, session factory)."""
    from pathlib import Path

    from dispatch import migrate
    from dispatch.db import make_session_factory
    from seeds import load_demo

    url = fresh_database(url, name)
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
                        upload_dir=Path(tempfile.mkdtemp()), password_hash_method="scrypt:1024:8:1",
                        auth_rate_limit=(1_000_000, 60))
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    load_demo(factory, settings)
    return url, settings, engine, factory
