"""The technician completes a job while the manager cancels it: the row lock (with the version
check behind it) lets exactly one through and the other gets a 409, never a 500 or two terminal
events. Needs real concurrent
transactions, so it runs on PostgreSQL against its own database."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import select

from dispatch import clock, migrate
from dispatch.app import create_app
from dispatch.auth.models import User
from dispatch.db import make_engine, make_session_factory
from dispatch.network.models import Technician
from seeds import SeedContext, network
from tests.dates import SUITE_TODAY
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    local,
    own_hooks_only,  # noqa: F401 - fixture
)
from tests.conftest import fresh_database_url
from tests.helpers import Api

pytestmark = pytest.mark.postgres


@pytest.fixture
def live(tmp_path, base_settings, own_hooks_only):
    """An app on its own committed database (no rolled-back outer transaction to share), and the
    technician id of tech.hz01.1."""
    url = fresh_database_url("jobs_race", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:  # the network is all these jobs need
        network.seed(SeedContext(session=session, settings=base_settings, today=SUITE_TODAY,
                                 rng=random.Random("network")))
        session.commit()
        technician_id = session.scalar(select(Technician.id).join(User, User.id == Technician.user_id)
                                       .where(User.username == "tech.hz01.1"))
    engine.dispose()
    app = create_app(base_settings.with_(database_url=url))
    with clock.frozen(MONDAY):
        yield (lambda: Api(app.test_client())), str(technician_id)
    app.extensions["dispatch"].engine.dispose()


def test_completing_and_cancelling_at_the_same_moment_lets_exactly_one_through(live):
    new_client, technician_id = live
    api = new_client()
    for attempt in range(4):  # several rounds: each must end with exactly one winner
        created = api.post("/api/v1/jobs/", as_="admin", json={
            "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
            "customer": {"name": f"Race {attempt}", "phone": f"1380000{attempt:04d}",
                         "location": {"lat": 30.25, "lon": 120.14}}})
        assert created.status_code == 201, created.json
        job = created.json
        assigned = api.post(f"/api/v1/jobs/{job['id']}/assignment", as_="manager.hz01", json={
            "technician_id": technician_id, "scheduled_start": local(TUESDAY, 10).isoformat()})
        assert assigned.status_code == 200, assigned.json
        for to in ("en_route", "on_site"):
            assert api.post(f"/api/v1/jobs/{job['id']}/transitions", as_="tech.hz01.1",
                            json={"to": to}).status_code == 200

        clients = {"tech.hz01.1": new_client(), "manager.hz01": new_client()}
        for username, client in clients.items():
            client.token(username)
        barrier = threading.Barrier(2)
        statuses: dict[str, int] = {}

        def move(username: str, body: dict) -> None:
            barrier.wait()
            statuses[username] = clients[username].post(f"/api/v1/jobs/{job['id']}/transitions", as_=username,
                                                        json=body).status_code

        threads = [threading.Thread(target=move, args=("tech.hz01.1", {"to": "completed"})),
                   threading.Thread(target=move, args=("manager.hz01", {"to": "cancelled",
                                                                         "reason": "customer cancelled"}))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses.values()) == [200, 409], (attempt, statuses)
        final = api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json
        assert final["status"] == ("completed" if statuses["tech.hz01.1"] == 200 else "cancelled")
        terminal = [e for e in final["events"] if e["to_status"] in {"completed", "cancelled"}]
        assert len(terminal) == 1 and [e["seq"] for e in final["events"]] == list(range(1, 7))
