"""Offered time slots and booking one (issue 19): the windows a job can be served in, ranked by
the driving they add; booking holds the technician's calendar, so the last window cannot be sold
twice (409), also when two call-centre agents press the button at once (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.jobs.models import Job
from dispatch.network import rules as network_rules
from dispatch.network.models import Technician
from tests.api.jobs_builders import MONDAY, TUESDAY, assign, local, own_hooks_only, technician  # noqa: F401
from tests.api.test_jobs_concurrency import live  # noqa: F401 - fixture
from tests.helpers import assert_problem
from tests.plan_builders import make_job, point
from tests.schedule_check import calendar_violations

DAY = TUESDAY.isoformat()


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def slots(api, job, first=DAY, last=DAY, as_="manager.hz01"):
    return api.get(f"/api/v1/jobs/{job.id}/slots?from={first}&to={last}", as_=as_)


def book(api, job, slot, as_="manager.hz01"):
    return api.post(f"/api/v1/jobs/{job.id}/booking", as_=as_,
                    json={"window_start": slot["window_start"], "window_end": slot["window_end"]})


def only_one_technician_on(api, session, day, keep="tech.hz01.1"):
    """Everyone of HZ01 but ``keep`` is on leave that day."""
    for row in session.scalars(select(Technician).where(Technician.service_point_id == point(session, "HZ01").id)):
        if row.user.username != keep:
            response = api.post(f"/api/v1/technicians/{row.id}/shift-exceptions", as_="manager.hz01",
                                json={"on": day.isoformat(), "kind": "leave", "reason": "training"})
            assert response.status_code == 201, response.json


def test_slots_are_ranked_by_added_travel_and_keep_every_booked_visit(api, session):
    booked = make_job(session, "HZ01", TUESDAY, window=None, seed="slot-a")
    job = make_job(session, "HZ01", TUESDAY, window=None, seed="slot-b")
    session.commit()
    first = technician(session, "tech.hz01.1")
    assert assign(api, {"id": str(booked.id)}, first.id, local(TUESDAY, 10)).status_code == 200

    session.refresh(booked)
    offer = slots(api, job)
    assert offer.status_code == 200, offer.json
    assert offer.json["slot_minutes"] == 120 and offer.json["slots"]
    found = offer.json["slots"]
    assert [s["added_travel_s"] for s in found] == sorted(s["added_travel_s"] for s in found)
    assert len({s["window_start"] for s in found}) == len(found)  # each window once, its best technician
    for slot in found:
        start, end = datetime.fromisoformat(slot["window_start"]), datetime.fromisoformat(slot["window_end"])
        at = datetime.fromisoformat(slot["start_at"])
        assert end - start == timedelta(hours=2) and start <= at <= end
        assert start.utcoffset() == timedelta(hours=8)
        row = session.get(Technician, uuid.UUID(slot["technician_id"]))
        assert network_rules.qualified(row, job.product.category, job.type, TUESDAY)
        if row.id == first.id:  # never on top of the booked visit
            assert at + timedelta(minutes=job.duration_minutes) <= booked.scheduled_start or \
                at >= booked.scheduled_end

    answer = book(api, job, found[0])
    assert answer.status_code == 201, answer.json
    assert answer.json["technician_id"] == found[0]["technician_id"]
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored.status.value == "scheduled" and str(stored.technician_id) == found[0]["technician_id"]
    assert stored.window_start == datetime.fromisoformat(found[0]["window_start"])
    assert stored.scheduled_start == datetime.fromisoformat(found[0]["start_at"])
    assert not stored.locked  # tentative: the planner may still improve the day within the window
    assert calendar_violations(session, "HZ01", TUESDAY) == []


def test_the_last_window_is_sold_once(api, session):
    only_one_technician_on(api, session, TUESDAY)
    hz01 = point(session, "HZ01")
    assert api.put(f"/api/v1/service-points/{hz01.id}/slot-length", as_="manager.hz01",
                   json={"minutes": 30}).json == {"minutes": 30}
    here = (hz01.lat + 0.01, hz01.lon + 0.01)
    first = make_job(session, "HZ01", TUESDAY, window=None, location=here, minutes=90)
    second = make_job(session, "HZ01", TUESDAY, window=None, location=here, minutes=90)
    session.commit()
    ten = next(s for s in slots(api, first).json["slots"]
               if datetime.fromisoformat(s["window_start"]) == local(TUESDAY, 10))
    assert ten["technician_id"] == str(technician(session, "tech.hz01.1").id)
    assert ten in slots(api, second).json["slots"]  # both customers are offered it...
    assert book(api, first, ten).status_code == 201
    assert ten["window_start"] not in {s["window_start"] for s in slots(api, second).json["slots"]}
    body = assert_problem(book(api, second, ten), 409, code="slot-taken")  # ...one gets it
    assert second.reference in body["detail"]
    session.expire_all()
    assert session.get(Job, second.id).status.value == "dispatched"
    assert calendar_violations(session, "HZ01", TUESDAY) == []


def test_no_slot_breaks_the_sla_or_the_lunch_break(api, session):
    only_one_technician_on(api, session, TUESDAY)
    hz01 = point(session, "HZ01")
    due = local(TUESDAY, 13)
    job = make_job(session, "HZ01", TUESDAY, window=None, minutes=60, sla_due_at=due, seed="sla-slot")
    session.commit()
    found = slots(api, job).json["slots"]
    assert found and all(datetime.fromisoformat(s["start_at"]) <= due for s in found)
    # a long job that would swallow the lunch window (11:00-14:00 start, 30 min) is not offered over it
    long = make_job(session, "HZ01", TUESDAY, window=None, minutes=360, location=(hz01.lat, hz01.lon))
    session.commit()
    for slot in slots(api, long).json["slots"]:
        start = datetime.fromisoformat(slot["start_at"])
        end = start + timedelta(minutes=360)
        assert start >= local(TUESDAY, 11) + timedelta(minutes=30) or end <= local(TUESDAY, 14)


def test_a_job_not_yet_taken_in_gets_the_same_answer(api, session):
    hz01 = point(session, "HZ01")
    query = (f"from={DAY}&to={DAY}&lat={hz01.lat + 0.01}&lon={hz01.lon}&job_type=repair"
             "&product_sku=WP-RO500&duration_minutes=45")
    answer = api.get(f"/api/v1/service-points/{hz01.id}/slots?{query}", as_="admin")
    assert answer.status_code == 200, answer.json
    assert answer.json["slots"] and answer.json["slot_minutes"] == 120
    assert_problem(api.get(f"/api/v1/service-points/{hz01.id}/slots?{query.replace('WP-RO500', 'NOPE')}",
                           as_="admin"), 422, field="product_sku")
    assert_problem(api.get(f"/api/v1/service-points/{hz01.id}/slots?{query.replace('lat=', 'lat=9')}",
                           as_="admin"), 422, field="lat")
    other = point(session, "HZ02")
    assert_problem(api.get(f"/api/v1/service-points/{other.id}/slots?{query}", as_="manager.hz01"), 404)


def test_bad_questions_and_bookings_are_problems_naming_the_field(api, session):
    job = make_job(session, "HZ01", TUESDAY, window=None, seed="bad")
    session.commit()
    assert_problem(api.get(f"/api/v1/jobs/{job.id}/slots?to={DAY}", as_="manager.hz01"), 422, field="from")
    assert_problem(slots(api, job, first=DAY, last=MONDAY.date().isoformat()), 422, field="to")
    assert_problem(slots(api, job, first=DAY, last=(TUESDAY + timedelta(days=20)).isoformat()), 422, field="to")
    assert_problem(slots(api, job, first=(TUESDAY - timedelta(days=7)).isoformat()), 422, field="from")
    assert_problem(slots(api, job, as_="manager.hz02"), 404)
    assert_problem(slots(api, job, as_="tech.hz01.1"), 403)
    offered = slots(api, job).json["slots"][0]
    start = datetime.fromisoformat(offered["window_start"])
    assert_problem(book(api, job, {"window_start": offered["window_start"],
                                   "window_end": (start + timedelta(minutes=45)).isoformat()}), 422,
                   field="window_end")
    assert_problem(book(api, job, {"window_start": offered["window_start"], "window_end": offered["window_start"]}),
                   422, field="window_end")
    naive = api.post(f"/api/v1/jobs/{job.id}/booking", as_="manager.hz01",
                     json={"window_start": "2030-01-01T10:00:00", "window_end": "2030-01-01T12:00:00"})
    assert_problem(naive, 422, field="window_start")
    assert_problem(api.post(f"/api/v1/jobs/{job.id}/booking", as_="manager.hz01", json={}), 422,
                   field="window_start")
    hz01 = point(session, "HZ01")
    assert_problem(api.put(f"/api/v1/service-points/{hz01.id}/slot-length", as_="manager.hz01",
                           json={"minutes": 7}), 422, field="minutes")
    assert_problem(api.put(f"/api/v1/service-points/{hz01.id}/slot-length", as_="manager.hz02",
                           json={"minutes": 60}), 404)
    cancelled = api.post(f"/api/v1/jobs/{job.id}/transitions", as_="manager.hz01",
                         json={"to": "cancelled", "reason": "customer fixed it"})
    assert cancelled.status_code == 200
    assert slots(api, job).json["slots"] == []  # nothing to offer a cancelled job...
    assert_problem(book(api, job, offered), 409)  # ...and nothing to book


@pytest.mark.postgres
def test_two_agents_booking_the_last_window_at_once_cannot_both_win(live):
    """Two requests race for the only technician's 10:00-10:30 on their own database (two
    connections): the point's row lock makes the second wait, see the first visit and answer 409."""
    new_client, technician_id = live
    api = new_client()
    points = api.get("/api/v1/service-points/?page_size=50", as_="admin").json
    hz01 = next(p for p in points if p["code"] == "HZ01")
    for row in api.get(f"/api/v1/technicians/?service_point_id={hz01['id']}&page_size=50", as_="admin").json:
        if row["id"] != technician_id:
            assert api.post(f"/api/v1/technicians/{row['id']}/shift-exceptions", as_="manager.hz01",
                            json={"on": DAY, "kind": "leave"}).status_code == 201
    assert api.put(f"/api/v1/service-points/{hz01['id']}/slot-length", as_="manager.hz01",
                   json={"minutes": 30}).status_code == 200
    for attempt in range(3):
        jobs = []
        for n in range(2):
            created = api.post("/api/v1/jobs/", as_="admin", json={
                "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
                "customer": {"name": f"Slot {attempt}-{n}", "phone": f"1370000{attempt}{n:03d}",
                             "location": {"lat": 30.25, "lon": 120.14}}})
            assert created.status_code == 201, created.json
            jobs.append(created.json)
        window = {"window_start": local(TUESDAY, 10).isoformat(),
                  "window_end": local(TUESDAY, 10, 30).isoformat()}
        for job in jobs:
            offered = api.get(f"/api/v1/jobs/{job['id']}/slots?from={DAY}&to={DAY}", as_="manager.hz01").json
            assert window["window_start"] in {s["window_start"] for s in offered["slots"]}
        clients = [new_client(), new_client()]
        for client in clients:
            client.token("manager.hz01")
        barrier, answers = threading.Barrier(2), []

        def take(client, job):
            barrier.wait()
            answers.append(client.post(f"/api/v1/jobs/{job['id']}/booking", as_="manager.hz01",
                                       json=window).status_code)

        threads = [threading.Thread(target=take, args=pair) for pair in zip(clients, jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(answers) == [201, 409], answers
        statuses = sorted(api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["status"] for job in jobs)
        assert statuses == ["dispatched", "scheduled"]
        for job in jobs:  # free the window for the next round
            api.post(f"/api/v1/jobs/{job['id']}/transitions", as_="manager.hz01",
                     json={"to": "cancelled", "reason": "next round"})
