"""A technician's calendar through HTTP: never two visits at once, time to drive between sites,
no bookings in the past; the same calendar holds for plans applied, and for two managers racing."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta

import pytest

from dispatch import clock, geo
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    local,
    own_hooks_only,  # noqa: F401 - fixture
    technician,
    units,
)
from tests.api.test_jobs_concurrency import live  # noqa: F401 - fixture
from tests.helpers import assert_problem

TECH = "tech.hz01.1"


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def far_apart_units(session, point_code="HZ01"):
    """Two units of the point's customers as far apart as the point's districts allow."""
    found = [u for u in units(session, point_code) if u.customer.lat is not None]
    return max(itertools.combinations(found, 2), key=lambda pair: geo.great_circle_m(
        pair[0].customer.lat, pair[0].customer.lon, pair[1].customer.lat, pair[1].customer.lon))


def test_an_overlapping_assignment_is_a_409_naming_the_clashing_job(api, session):
    tech = technician(session, TECH)
    first, second = create_job(api, session), create_job(api, session)
    booked = assign(api, first, tech.id, local(TUESDAY, 10))
    assert booked.status_code == 200, booked.json
    body = assert_problem(assign(api, second, tech.id, local(TUESDAY, 10, 30)), 409, code="double-booking")
    assert body["clashing_job_id"] == first["id"] and body["clashing_job_reference"] == first["reference"]
    assert first["reference"] in body["detail"] and f"{TUESDAY} 10:00" in body["detail"]  # local time
    assert datetime.fromisoformat(body["clashing_start"]).utcoffset() == timedelta(hours=8)
    unchanged = api.get(f"/api/v1/jobs/{second['id']}", as_="manager.hz01").json
    assert (unchanged["status"], unchanged["technician_id"]) == ("dispatched", None)
    # a colleague is free then; and the first job may move within its own slot
    assert assign(api, second, technician(session, "tech.hz01.2").id, local(TUESDAY, 10, 30)).status_code == 200
    assert assign(api, first, tech.id, local(TUESDAY, 10, 15)).status_code == 200


def test_back_to_back_visits_need_the_drive_between_the_two_sites(api, session):
    tech = technician(session, TECH)
    near, far = far_apart_units(session)
    drive = geo.drive_seconds(near.customer.lat, near.customer.lon, far.customer.lat, far.customer.lon)
    assert drive > 10 * 60  # the districts are wide enough for the point to matter
    first = create_job(api, session, unit_serial=near.serial)
    second = create_job(api, session, unit_serial=far.serial)
    booked = assign(api, first, tech.id, local(TUESDAY, 11))
    assert booked.status_code == 200, booked.json
    first_end = datetime.fromisoformat(booked.json["scheduled_end"])
    too_soon = first_end + timedelta(seconds=drive) - timedelta(minutes=5)
    body = assert_problem(assign(api, second, tech.id, too_soon), 409, code="double-booking")
    assert body["travel_minutes"] == drive // 60 and "drive" in body["detail"]
    in_time = first_end + timedelta(seconds=drive) + timedelta(minutes=1)
    assert assign(api, second, tech.id, in_time).status_code == 200
    # the other way round too: the second visit cannot be moved to just before the first
    before = local(TUESDAY, 11) - timedelta(minutes=second["duration_minutes"]) - timedelta(minutes=5)
    assert_problem(assign(api, second, tech.id, before, reason="earlier"), 409, code="double-booking")


def test_a_slot_in_the_past_is_refused_but_a_call_out_just_begun_is_recorded(api, session):
    tech = technician(session, TECH)
    job = create_job(api, session)
    body = assert_problem(assign(api, job, tech.id, MONDAY - timedelta(days=3)), 422, field="scheduled_start")
    assert body["rule"] == "not-in-the-past"
    assert_problem(assign(api, job, tech.id, MONDAY - timedelta(minutes=20)), 422, field="scheduled_start")
    with clock.frozen(local(MONDAY.date(), 10, 5)):
        api._tokens.clear()  # two hours later: sign in again
        assert assign(api, job, tech.id, local(MONDAY.date(), 10)).status_code == 200


def test_jobs_no_longer_holding_a_slot_free_it(api, session):
    tech = technician(session, TECH)
    first, second = create_job(api, session), create_job(api, session)
    assert assign(api, first, tech.id, local(TUESDAY, 10)).status_code == 200
    cancelled = api.post(f"/api/v1/jobs/{first['id']}/transitions", as_="manager.hz01",
                         json={"to": "cancelled", "reason": "customer fixed it"})
    assert cancelled.status_code == 200, cancelled.json
    assert assign(api, second, tech.id, local(TUESDAY, 10)).status_code == 200


@pytest.mark.postgres
def test_two_managers_booking_one_technician_at_once_cannot_both_win(live):
    """Two requests race for the same technician's 10:00 on their own database (PostgreSQL, two
    connections): the technician row lock makes the second wait for the first, see its visit and
    answer 409, in every round."""
    new_client, technician_id = live
    api = new_client()
    for attempt in range(4):
        jobs = []
        for n in range(2):
            created = api.post("/api/v1/jobs/", as_="admin", json={
                "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
                "customer": {"name": f"Race {attempt}-{n}", "phone": f"1390000{attempt}{n:03d}",
                             "location": {"lat": 30.25, "lon": 120.14}}})
            assert created.status_code == 201, created.json
            jobs.append(created.json)
        clients = [new_client(), new_client()]
        for client in clients:
            client.token("manager.hz01")
        barrier, answers = threading.Barrier(2), []

        def book(client, job):
            barrier.wait()
            answers.append(assign(client, job, technician_id, local(TUESDAY, 10)).status_code)

        threads = [threading.Thread(target=book, args=pair) for pair in zip(clients, jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(answers) == [200, 409], answers
        statuses = {job["id"]: api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["status"] for job in jobs}
        assert sorted(statuses.values()) == ["dispatched", "scheduled"]
        winner = next(job_id for job_id, status in statuses.items() if status == "scheduled")
        assert api.post(f"/api/v1/jobs/{winner}/transitions", as_="manager.hz01",  # free the slot again
                        json={"to": "cancelled", "reason": "next round"}).status_code == 200
