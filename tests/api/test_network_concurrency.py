"""Two admins authorising rival points for the same district at the same moment: exactly one
wins. Needs real concurrent transactions, so it runs on PostgreSQL against its own database."""

from __future__ import annotations

import random
import threading

import pytest

from dispatch import migrate
from dispatch.app import create_app
from dispatch.db import make_engine, make_session_factory
from seeds import SeedContext, network
from tests.dates import SUITE_TODAY
from tests.conftest import fresh_database_url
from tests.helpers import Api

pytestmark = pytest.mark.postgres


@pytest.fixture
def live_api(tmp_path, base_settings):
    """An app on its own committed database (no rolled-back outer transaction to share)."""
    url = fresh_database_url("network_race", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:  # the network step alone: nothing else is needed
        network.seed(SeedContext(session=session, settings=base_settings, today=SUITE_TODAY,
                                 rng=random.Random("network")))
        session.commit()
    engine.dispose()
    app = create_app(base_settings.with_(database_url=url))
    yield lambda: Api(app.test_client())
    app.extensions["dispatch"].engine.dispose()


def test_concurrent_authorisations_of_rival_points_let_exactly_one_through(live_api):
    api = live_api()
    xihu = api.get("/api/v1/regions/?code=ZJ-HZ-XH", as_="admin").json[0]["id"]
    hz01 = next(p for p in api.get("/api/v1/service-points/?q=HZ01", as_="admin").json if p["code"] == "HZ01")
    assert api.post(f"/api/v1/service-points/{hz01['id']}/suspend", as_="admin",
                    json={"reason": "make room"}).status_code == 200
    rivals = []
    for code in ("HZ08", "HZ09"):
        created = api.post("/api/v1/service-points/", as_="admin", json={
            "code": code, "name": code, "location": {"lat": 30.25, "lon": 120.13}, "categories": ["water_purifier"],
            "job_types": ["repair"], "coverage": [{"region_id": xihu, "category": "water_purifier"}]})
        assert created.status_code == 201, created.json
        rivals.append(created.json["id"])

    for attempt in range(5):  # several rounds: each must end with exactly one winner
        clients = [live_api(), live_api()]
        for client in clients:
            client.token("admin")
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def authorise(client, point_id):
            barrier.wait()
            response = client.post(f"/api/v1/service-points/{point_id}/authorise", as_="admin",
                                   json={"valid_until": "2027-12-31"})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=authorise, args=(c, p)) for c, p in zip(clients, rivals, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409], (attempt, statuses)
        serving = api.get(f"/api/v1/service-points/?region_id={xihu}&category=water_purifier&status=active",
                          as_="admin").json
        assert len(serving) == 1
        winner = serving[0]["id"]
        assert api.post(f"/api/v1/service-points/{winner}/suspend", as_="admin",
                        json={"reason": "next round"}).status_code == 200
        assert api.post(f"/api/v1/service-points/{winner}/revoke", as_="admin",
                        json={"reason": "next round"}).status_code == 200
        rivals = [p for p in rivals if p != winner]
        if len(rivals) < 2:
            created = api.post("/api/v1/service-points/", as_="admin", json={
                "code": f"HZ7{attempt}", "name": "rival", "location": {"lat": 30.25, "lon": 120.13},
                "categories": ["water_purifier"], "job_types": ["repair"],
                "coverage": [{"region_id": xihu, "category": "water_purifier"}]})
            rivals.append(created.json["id"])


def race(clients, send) -> list[int]:
    """Run ``send(client, i)`` for each client at the same moment; the status codes."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def run(client, i):
        barrier.wait()
        statuses.append(send(client, i).status_code)

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_concurrent_activations_of_one_unit_bind_it_once(live_api):
    api = live_api()
    unit = api.get("/api/v1/units/?activated=false&page_size=1", as_="admin").json[0]
    clients = [live_api(), live_api()]
    for client, username in zip(clients, ("tech.hz01.1", "tech.nb01.1"), strict=True):
        client.token(username)

    def activate(client, i):
        return client.post(f"/api/v1/units/{unit['serial']}/activation", as_=("tech.hz01.1", "tech.nb01.1")[i], json={
            "customer": {"name": f"Buyer {i}", "phone": f"1370000000{i}"}, "purchased_on": "2026-11-01",
            "sales_channel": "retail"})

    # The loser waits for the winner's row lock, then finds the unit bound to another point's
    # customer: answered like a missing serial (404), never a 409 telling it exists (issue 16).
    assert race(clients, activate) == [201, 404]
    cards = api.get(f"/api/v1/units/{unit['serial']}", as_="admin").json["activations"]
    assert len(cards) == 1


def test_concurrent_registrations_of_one_phone_number_make_one_customer(live_api):
    api = live_api()
    clients = [live_api(), live_api()]
    for client in clients:
        client.token("manager.hz01")

    def register(client, i):
        return client.post("/api/v1/customers/", as_="manager.hz01",
                           json={"name": f"Caller {i}", "phone": "13655556666"})

    assert race(clients, register) == [201, 409]
    assert len(api.get("/api/v1/customers/?phone=13655556666", as_="admin").json) == 1
