"""Applying a plan to the jobs (one transaction, 409 when jobs changed) and inserting urgent jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.clock import frozen
from dispatch.jobs.models import Job, JobStatus, Priority
from dispatch.routing import service
from tests.helpers import assert_problem
from tests.plan_builders import local, make_job, next_workday, point, stuck_solve


@pytest.fixture
def day():
    return next_workday()


@pytest.fixture
def planned(api, session, day):
    """A done plan of HZ01 for ``day`` with eight jobs of ours in it."""
    jobs = [make_job(session, "HZ01", day, window=(9 + 2 * (i % 4), 11 + 2 * (i % 4)), seed=f"apply{i}")
            for i in range(8)]
    session.commit()
    response = api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_="manager.hz01",
                        json={"date": day.isoformat(), "time_limit_s": 1})
    plan = api.get(response.headers["Location"], as_="manager.hz01").json
    assert plan["status"] == "done"
    return plan, jobs


def stops_of(plan):
    return {stop["job_id"]: (route["technician_id"], stop) for route in plan["routes"] for stop in route["stops"]}


def test_applying_a_plan_schedules_every_planned_job_on_its_technician_at_its_eta(api, session, planned):
    plan, jobs = planned
    applied = api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01")
    assert applied.status_code == 200, applied.json
    assert applied.json["applied_at"] is not None
    stops = stops_of(plan)
    assert {str(j.id) for j in jobs} <= set(stops)
    for job_id, (technician_id, stop) in stops.items():
        if stop["pinned"]:
            continue
        job = api.get(f"/api/v1/jobs/{job_id}", as_="manager.hz01").json
        assert job["status"] == "scheduled"
        assert job["technician_id"] == technician_id
        assert datetime.fromisoformat(job["scheduled_start"]) == datetime.fromisoformat(stop["start_at"])
    assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01"), 409,
                   code="invalid-transition")


def test_apply_answers_409_and_changes_nothing_when_a_job_changed_since_planning(api, session, planned):
    plan, jobs = planned
    changed = session.get(Job, jobs[0].id)
    changed.priority = Priority.HIGH  # any edit bumps the version the plan was made from
    session.commit()

    body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01"), 409, code="conflict")
    assert body["changed_jobs"] == [jobs[0].reference]
    session.expire_all()
    assert all(session.get(Job, job.id).status == JobStatus.DISPATCHED for job in jobs)
    assert api.get(f"/api/v1/plans/{plan['id']}", as_="manager.hz01").json["applied_at"] is None


def test_apply_answers_409_and_changes_nothing_when_a_slot_was_booked_by_hand_meanwhile(api, session, planned, day):
    """The calendar is one source of truth: a visit the manager booked after the plan was made
    (a job the plan never saw) keeps its technician's slot; the plan must be made again."""
    plan, jobs = planned
    job_id, (technician_id, stop) = next((job_id, found) for job_id, found in stops_of(plan).items()
                                         if not found[1]["pinned"])
    walk_in = make_job(session, "HZ01", day, window=(8, 18), seed="walk-in")
    session.commit()
    booked = api.post(f"/api/v1/jobs/{walk_in.id}/assignment", as_="manager.hz01",
                      json={"technician_id": technician_id, "scheduled_start": stop["start_at"]})
    assert booked.status_code == 200, booked.json

    body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01"), 409,
                          code="double-booking")
    assert body["clashing_job_reference"] == walk_in.reference
    session.expire_all()
    assert all(session.get(Job, job.id).status == JobStatus.DISPATCHED for job in jobs)
    assert api.get(f"/api/v1/plans/{plan['id']}", as_="manager.hz01").json["applied_at"] is None


def test_a_plan_is_applied_only_by_a_planner_of_its_point(api, planned):
    plan, _ = planned
    assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="reviewer"), 403)
    assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz02"), 404)
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="admin").status_code == 200


def test_an_urgent_job_is_inserted_into_an_applied_plan_and_the_day_is_rescheduled(api, session, planned, day):
    plan, jobs = planned
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01").status_code == 200
    before = {job_id: (tech, stop["start_at"]) for job_id, (tech, stop) in stops_of(plan).items()}
    urgent = make_job(session, "HZ01", day, window=(13, 15), priority=Priority.URGENT, seed="urgent")
    session.commit()

    response = api.post(f"/api/v1/plans/{plan['id']}/insertions", as_="manager.hz01",
                        json={"job_id": str(urgent.id), "time_limit_s": 1})
    assert response.status_code == 201, response.json
    insertion = response.json
    after = stops_of(insertion["plan"])
    technician_id, stop = after[str(urgent.id)]
    assert insertion["technician_id"] == technician_id and insertion["sequence"] == stop["sequence"]
    assert insertion["plan"]["revision"] == 1 and len(insertion["plan"]["insertions"]) == 1
    assert set(before) <= set(after)  # promised jobs are never bumped for the new one
    moved = {job_id for job_id, (tech, start) in before.items()
             if after[job_id][0] != tech or after[job_id][1]["start_at"] != start and not after[job_id][1]["pinned"]}
    assert set(insertion["rescheduled_job_ids"]) <= moved | {j for j in after if j not in before}
    job = api.get(f"/api/v1/jobs/{urgent.id}", as_="manager.hz01").json
    assert job["status"] == "scheduled"
    assert datetime.fromisoformat(job["scheduled_start"]) == datetime.fromisoformat(insertion["start_at"])
    assert datetime(day.year, day.month, day.day, 13, tzinfo=urgent.window_start.tzinfo) <= \
        datetime.fromisoformat(insertion["start_at"]) <= urgent.window_end
    for job_id, (tech, stop) in after.items():
        if stop["pinned"]:
            continue
        current = api.get(f"/api/v1/jobs/{job_id}", as_="manager.hz01").json
        assert datetime.fromisoformat(current["scheduled_start"]) == datetime.fromisoformat(stop["start_at"])


def test_insertions_need_an_applied_plan_and_a_dispatched_job_of_its_point(api, session, planned, day):
    plan, jobs = planned
    urgent = make_job(session, "HZ01", day, priority=Priority.URGENT, seed="early")
    foreign = make_job(session, "NB01", day, priority=Priority.URGENT, seed="foreign")
    session.commit()
    url = f"/api/v1/plans/{plan['id']}/insertions"
    assert_problem(api.post(url, as_="manager.hz01", json={"job_id": str(urgent.id)}), 409,
                   code="invalid-transition")
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01").status_code == 200
    assert_problem(api.post(url, as_="manager.hz01", json={"job_id": str(foreign.id)}), 404)
    assert_problem(api.post(url, as_="admin", json={"job_id": str(foreign.id)}), 422, field="job_id")
    assert_problem(api.post(url, as_="manager.hz01", json={"job_id": str(jobs[0].id)}), 409,
                   code="invalid-transition")
    assert_problem(api.post(url, as_="manager.hz01", json={}), 422, field="job_id")
    assert_problem(api.post(url, as_="manager.hz01", json={"job_id": str(urgent.id), "time_limit_s": 99}),
                   422, field="time_limit_s")


def test_a_job_that_fits_nowhere_is_refused_with_its_reason_and_nothing_changes(api, session, planned, day):
    plan, _ = planned
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01").status_code == 200
    late = make_job(session, "HZ01", day, window=(20, 22), priority=Priority.URGENT, seed="late")
    session.commit()
    body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/insertions", as_="manager.hz01",
                                   json={"job_id": str(late.id), "time_limit_s": 1}), 422, code="rule-violation")
    assert body["reason"] == "window_outside_all_shifts"
    again = api.get(f"/api/v1/plans/{plan['id']}", as_="manager.hz01").json
    assert again["revision"] == 0 and again["insertions"] == []
    session.expire_all()
    assert session.get(Job, late.id).status == JobStatus.DISPATCHED


def test_a_plan_for_a_day_that_has_passed_is_not_applied(api, planned, day):
    plan, _ = planned
    with frozen(local(day + timedelta(days=1), 9)):  # admin logs in first here: a token of that moment
        body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_="admin"), 409)
    assert body["current"] == "past"


@pytest.mark.timeout(60)
def test_an_insertion_whose_solve_never_returns_answers_503_and_changes_nothing(api, session, planned, day,
                                                                               monkeypatch):
    plan, _ = planned
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_="manager.hz01").status_code == 200
    urgent = make_job(session, "HZ01", day, window=(13, 15), priority=Priority.URGENT, seed="stuck")
    session.commit()
    monkeypatch.setattr(service, "solve_within", stuck_solve)
    body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/insertions", as_="manager.hz01",
                                   json={"job_id": str(urgent.id), "time_limit_s": 1}), 503)
    assert "hard deadline" in body["detail"]
    assert api.get(f"/api/v1/plans/{plan['id']}", as_="manager.hz01").json["revision"] == 0
    session.expire_all()
    assert session.get(Job, urgent.id).status == JobStatus.DISPATCHED
