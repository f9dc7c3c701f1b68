"""Urgent insertion meets the job's SLA due time when any technician can, and says by how much it
will be late when none can; the job's SLA status then follows the plan (issue 15).

The clock is frozen on the Saturday after today, 10:00 local; the plans are for the Monday after.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from dispatch.clock import frozen, utcnow
from dispatch.jobs.models import Priority
from tests.plan_builders import TZ, local, make_job, point


@pytest.fixture
def saturday():
    today = utcnow().astimezone(TZ).date()
    return today + timedelta(days=(5 - today.weekday()) % 7 or 7)


@pytest.fixture
def now(saturday):
    with frozen(local(saturday, 10)):
        yield local(saturday, 10)


@pytest.fixture
def monday(saturday):
    return saturday + timedelta(days=2)


def applied_plan(api, session, monday, afternoon_at=None):
    """HZ01's Monday planned and applied; with ``afternoon_at``, four jobs there wanting 14-16."""
    hz01 = point(session, "HZ01")
    for i in range(6):
        make_job(session, "HZ01", monday, window=(9 + 2 * (i % 3), 11 + 2 * (i % 3)), seed=f"sla{i}")
    for i in range(4 if afternoon_at else 0):
        make_job(session, "HZ01", monday, window=(14, 16), location=afternoon_at, seed=f"pm{i}")
    session.commit()
    response = api.post(f"/api/v1/service-points/{hz01.id}/plans", as_="manager.hz01",
                        json={"date": monday.isoformat(), "time_limit_s": 1})
    plan = api.get(response.headers["Location"], as_="manager.hz01").json
    assert plan["status"] == "done"
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01").status_code == 200
    return plan


def insert(api, plan, job):
    response = api.post(f"/api/v1/plans/{plan['id']}/insertions", as_="manager.hz01",
                        json={"job_id": str(job.id), "time_limit_s": 1})
    assert response.status_code == 201, response.json
    return response.json


def test_a_job_whose_due_time_has_gone_by_the_plans_day_is_placed_first_thing_and_reported_late(
        api, session, now, saturday, monday):
    plan = applied_plan(api, session, monday)
    due = local(saturday, 16, 1)
    urgent = make_job(session, "HZ01", monday, window=(9, 17), priority=Priority.URGENT, seed="due-saturday",
                      sla_due_at=due, sla_at_risk_at=due - timedelta(hours=4), sla_target_hours=8)
    session.commit()
    assert api.get(f"/api/v1/jobs/{urgent.id}", as_="manager.hz01").json["sla_status"] == "ok"

    insertion = insert(api, plan, urgent)

    start = datetime.fromisoformat(insertion["start_at"])
    assert start.date() == monday and start < local(monday, 10)  # as early as the day allows
    sla = insertion["sla"]
    assert datetime.fromisoformat(sla["due_at"]) == due
    assert sla["met"] is False
    assert sla["breach_minutes"] == math.ceil((start - due).total_seconds() / 60) > 24 * 60
    assert sla["status"] == "at_risk" and f"{sla['breach_minutes']} minutes late" in sla["detail"]
    job = api.get(f"/api/v1/jobs/{urgent.id}", as_="manager.hz01").json
    assert job["sla_status"] == "at_risk"  # from the plan: the wall clock alone still says ok
    at_risk = api.get("/api/v1/jobs?sla=at_risk&page_size=100", as_="manager.hz01").json
    assert str(urgent.id) in {item["id"] for item in at_risk}
    with frozen(due + timedelta(minutes=1)):
        assert api.get(f"/api/v1/jobs/{urgent.id}", as_="admin").json["sla_status"] == "breached"


def test_a_due_time_a_technician_can_meet_is_met_even_where_the_cheapest_place_is_later(
        api, session, now, monday):
    hz01 = point(session, "HZ01")
    cluster = (hz01.lat + 0.04, hz01.lon)  # about 4.4 km north of the point
    plan = applied_plan(api, session, monday, afternoon_at=cluster)
    due = local(monday, 10, 30)
    urgent = make_job(session, "HZ01", monday, window=(9, 17), priority=Priority.URGENT, location=cluster,
                      seed="due-monday", sla_due_at=due, sla_at_risk_at=due - timedelta(hours=4),
                      sla_target_hours=8)
    session.commit()

    insertion = insert(api, plan, urgent)

    assert datetime.fromisoformat(insertion["start_at"]) <= due  # next to the cluster at 14:00 was cheaper
    assert insertion["sla"]["met"] is True and insertion["sla"]["breach_minutes"] == 0
    assert insertion["sla"]["status"] == "ok"
    assert api.get(f"/api/v1/jobs/{urgent.id}", as_="manager.hz01").json["sla_status"] == "ok"


def test_a_job_without_an_sla_has_no_sla_verdict(api, session, now, monday):
    plan = applied_plan(api, session, monday)
    plain = make_job(session, "HZ01", monday, window=(13, 15), priority=Priority.URGENT, seed="no-sla")
    session.commit()
    assert insert(api, plan, plain)["sla"] is None
