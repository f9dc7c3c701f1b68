"""Real concurrent transactions on PostgreSQL: two draws at once sample each checklist once, and
two reviewers giving a first verdict at once leave exactly one verdict."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch import clock, migrate
from dispatch.app import create_app
from dispatch.db import make_engine, make_session_factory
from dispatch.audits.models import Audit, AuditVerdict
from seeds import SeedContext, network, sop
from tests.dates import SUITE_TODAY
from tests.api.audit_builders import WEEK, AuditWorld, local
from tests.conftest import fresh_database_url
from tests.helpers import Api

pytestmark = pytest.mark.postgres
DRAWN = WEEK.freezes_at + timedelta(minutes=30)


@pytest.fixture
def live(tmp_path, base_settings, worker_name):
    """An app on its own committed database (one per xdist worker), with the network and the
    SOP templates."""
    url = fresh_database_url(f"audits_race_{worker_name}", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        ctx = SeedContext(session=session, settings=base_settings, today=SUITE_TODAY, rng=random.Random("audits"))
        network.seed(ctx)
        session.flush()
        sop.seed(ctx)
        session.commit()
    app = create_app(base_settings.with_(database_url=url))
    yield app, factory
    app.extensions["dispatch"].engine.dispose()
    engine.dispose()


def race(calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []

    def run(call):
        barrier.wait()
        statuses.append(call().status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_concurrent_draws_sample_every_checklist_once(live):
    app, factory = live
    world = AuditWorld(Api(app.test_client()), factory)
    for i in range(9):
        world.checklist("HZ01", completed_at=local(i % 5, 10 + i))
    with clock.frozen(DRAWN):
        clients = [Api(app.test_client()) for _ in range(2)]
        for client in clients:
            client.token("reviewer")
        statuses = race([lambda c=c: c.post("/api/v1/audits/samples", as_="reviewer") for c in clients])
    assert statuses == [200, 200]  # the second waits for the first, then finds nothing to do
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Audit)) == 5  # 9 items: B -> C, n = 5
        assert session.scalar(select(func.count(func.distinct(Audit.checklist_id)))) == 5


def test_two_first_verdicts_at_once_leave_exactly_one(live):
    app, factory = live
    world = AuditWorld(Api(app.test_client()), factory)
    world.checklist("SZ01", completed_at=local(2, 10))
    world.draw(DRAWN)
    (audit,) = world.audits(world.lot("SZ01")["lot"]["id"])
    with clock.frozen(DRAWN + timedelta(minutes=5)):
        clients = [(Api(app.test_client()), name) for name in ("reviewer", "reviewer2")]
        for client, name in clients:
            client.token(name)
        statuses = race([lambda c=c, n=n: c.post(f"/api/v1/audits/{audit['id']}/verdict", as_=n,
                                                   json={"verdict": "conforming"}) for c, n in clients])
    assert statuses == [200, 409]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditVerdict)) == 1
