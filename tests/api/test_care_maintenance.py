"""Maintenance plans through HTTP: reading, tuning with If-Match, running the generation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.care.models import MaintenancePlan
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
from dispatch.network.models import JobType, ServicePoint
from tests.dates import SUITE_TODAY
from tests.helpers import assert_problem
from tests.integration.care_support import TZ

TODAY = SUITE_TODAY


def _plan(session, **changes) -> MaintenancePlan:
    plan = session.scalars(select(MaintenancePlan).where(MaintenancePlan.active.is_(True))
                           .order_by(MaintenancePlan.id)).first()
    for name, value in changes.items():
        setattr(plan, name, value)
    session.commit()
    return plan


def test_hq_lists_plans_by_due_date_and_managers_see_the_plans_their_point_served(api, session):
    hz01 = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    mine = _plan(session, service_point_id=hz01.id, next_due_on=TODAY + timedelta(days=1))
    everything = api.get("/api/v1/maintenance-plans/?page_size=100", as_="admin")
    assert everything.status_code == 200
    dates = [p["next_due_on"] for p in everything.json]
    assert dates == sorted(dates) and len(dates) == 100
    own = api.get("/api/v1/maintenance-plans/?page_size=100", as_="manager.hz01").json
    assert mine.id.hex in {p["id"].replace("-", "") for p in own}
    assert {p["service_point_id"] for p in own} == {str(hz01.id)}
    assert_problem(api.get(f"/api/v1/maintenance-plans/{mine.id}", as_="manager.nb01"), 404)
    assert_problem(api.get("/api/v1/maintenance-plans/", as_="tech.hz01.1"), 403)


def test_a_plan_is_tuned_only_with_a_current_if_match(api, session):
    plan = _plan(session)
    path = f"/api/v1/maintenance-plans/{plan.id}"
    current = api.get(path, as_="admin")
    assert current.json["unit_serial"] and current.json["interval_days"] == plan.interval_days
    assert_problem(api.patch(path, as_="admin", json={"interval_days": 90}), 428)
    assert_problem(api.patch(path, as_="admin", json={"interval_days": 90}, headers={"If-Match": '"stale"'}), 412)
    tuned = api.patch(path, as_="admin", json={"interval_days": 90, "next_due_on": (TODAY + timedelta(days=60)).isoformat()},
                      headers={"If-Match": current.headers["ETag"]})
    assert tuned.status_code == 200, tuned.json
    assert tuned.json["interval_days"] == 90 and tuned.json["next_due_on"] == (TODAY + timedelta(days=60)).isoformat()
    assert_problem(api.patch(path, as_="admin", json={"interval_days": 3}, headers={"If-Match": tuned.headers["ETag"]}),
                   422, field="interval_days")


def test_hq_runs_the_generation_and_a_second_run_creates_nothing(api, session):
    plan = _plan(session, next_due_on=TODAY + timedelta(days=6))
    queued = api.post("/api/v1/maintenance-plans/generation", as_="admin", json={"lead_days": 7})
    assert queued.status_code == 202 and queued.json["lead_days"] == 7
    again = api.post("/api/v1/maintenance-plans/generation", as_="admin", json={"lead_days": 7})
    assert again.status_code == 202
    jobs = session.scalars(select(Job).where(Job.unit_id == plan.unit_id, Job.type == JobType.MAINTENANCE,
                                             Job.reported_at >= utcnow() - timedelta(minutes=5))).all()
    assert len(jobs) == 1
    shown = api.get(f"/api/v1/maintenance-plans/{plan.id}", as_="admin").json
    assert shown["occurrences"] == [{"due_on": plan.next_due_on.isoformat(), "job_id": str(jobs[0].id),
                                     "created_at": shown["occurrences"][0]["created_at"]}]
    assert shown["service_point_id"] == str(jobs[0].service_point_id)


def test_only_hq_admins_run_the_generation_and_lead_days_are_bounded(api):
    assert_problem(api.post("/api/v1/maintenance-plans/generation", as_="manager.hz01", json={}), 403)
    assert_problem(api.post("/api/v1/maintenance-plans/generation", as_="admin", json={"lead_days": -1}), 422,
                   field="lead_days")
