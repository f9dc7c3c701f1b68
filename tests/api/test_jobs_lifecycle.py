"""The job state machine through HTTP: every legal transition, a sample of illegal ones, who may
move a job, and what each move records."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    free_start,
    create_job,
    local,
    move,
    own_hooks_only,  # noqa: F401 - fixture
    technician,
)
from tests.helpers import assert_problem

TECH, COLLEAGUE, MANAGER = "tech.hz01.1", "tech.hz01.2", "manager.hz01"


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def bring_to(api, session, status: str) -> dict:
    """A fresh HZ01 repair job walked (legally) to ``status``; tech.hz01.1 does the field work."""
    job = create_job(api, session)
    if status == "dispatched":
        return job
    worker = technician(session, TECH).id
    response = assign(api, job, worker, free_start(session, worker, TUESDAY))
    assert response.status_code == 200, response.json
    steps = {"scheduled": [], "on_hold": [("on_hold", MANAGER)], "en_route": [("en_route", TECH)],
             "on_site": [("en_route", TECH), ("on_site", TECH)],
             "completed": [("en_route", TECH), ("on_site", TECH), ("completed", TECH)],
             "closed": [("en_route", TECH), ("on_site", TECH), ("completed", TECH), ("closed", MANAGER)],
             "cancelled": [("cancelled", MANAGER)]}[status]
    for to, who in steps:
        response = move(api, job, to, who, reason="because")
        assert response.status_code == 200, response.json
    return response.json


LEGAL = [
    ("dispatched", "cancelled", MANAGER),
    ("scheduled", "en_route", TECH),
    ("scheduled", "on_hold", TECH),
    ("scheduled", "dispatched", MANAGER),
    ("scheduled", "cancelled", MANAGER),
    ("en_route", "on_site", TECH),
    ("en_route", "on_hold", TECH),
    ("en_route", "cancelled", "admin"),
    ("on_site", "completed", TECH),
    ("on_site", "on_hold", TECH),
    ("on_site", "cancelled", MANAGER),
    ("on_hold", "scheduled", MANAGER),
    ("on_hold", "en_route", TECH),
    ("on_hold", "on_site", TECH),
    ("on_hold", "dispatched", MANAGER),
    ("on_hold", "cancelled", MANAGER),
    ("completed", "closed", MANAGER),
]


@pytest.mark.parametrize(("start", "to", "who"), LEGAL, ids=[f"{a}->{b}" for a, b, _ in LEGAL])
def test_every_legal_transition_moves_the_job_and_records_an_event(api, session, start, to, who):
    job = bring_to(api, session, start)
    response = move(api, job, to, who, reason="customer asked")
    assert response.status_code == 200, response.json
    assert response.json["status"] == to
    event = response.json["events"][-1]
    assert (event["kind"], event["from_status"], event["to_status"], event["reason"]) == (
        "transition", start, to, "customer asked")
    assert event["actor_id"] == api.get("/api/v1/users/me", as_=who).json["id"]
    assert datetime.fromisoformat(event["at"]) == MONDAY
    fetched = api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json
    assert fetched["status"] == to and len(fetched["events"]) == len(response.json["events"])


ILLEGAL = [
    ("dispatched", "en_route", ["cancelled"]),
    ("dispatched", "completed", ["cancelled"]),
    ("dispatched", "scheduled", ["cancelled"]),
    ("scheduled", "completed", ["cancelled", "dispatched", "en_route", "on_hold"]),
    ("scheduled", "on_site", ["cancelled", "dispatched", "en_route", "on_hold"]),
    ("en_route", "completed", ["cancelled", "on_hold", "on_site"]),
    ("on_site", "scheduled", ["cancelled", "completed", "on_hold"]),
    ("completed", "cancelled", ["closed"]),
    ("completed", "on_hold", ["closed"]),
    ("closed", "on_site", []),
    ("cancelled", "scheduled", []),
    ("cancelled", "dispatched", []),
]


@pytest.mark.parametrize(("start", "to", "allowed"), ILLEGAL, ids=[f"{a}->{b}" for a, b, _ in ILLEGAL])
def test_an_illegal_transition_is_a_409_listing_the_allowed_ones(api, session, start, to, allowed):
    job = bring_to(api, session, start)
    who = TECH if to in {"en_route", "on_site", "completed"} and start not in {"dispatched"} else "admin"
    body = assert_problem(move(api, job, to, who, reason="try"), 409, code="invalid-transition")
    assert body["allowed"] == allowed and body["current"] == start
    assert api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["status"] == start


def test_scheduling_through_transitions_points_to_the_assignment_endpoint(api, session):
    job = bring_to(api, session, "dispatched")
    body = assert_problem(move(api, job, "scheduled", MANAGER), 409, code="invalid-transition")
    assert "/assignment" in body["detail"]


def test_only_the_assigned_technician_moves_a_job_through_the_field_states(api, session):
    job = bring_to(api, session, "scheduled")
    for who in (MANAGER, "admin"):
        body = assert_problem(move(api, job, "en_route", who), 403, code="forbidden")
        assert "assigned technician" in body["detail"]
    assert_problem(move(api, job, "en_route", COLLEAGUE), 404)  # not theirs: they cannot even see it
    assert_problem(move(api, job, "en_route", "tech.hz02.1"), 404)
    assert_problem(move(api, job, "on_hold", "reviewer", reason="x"), 403)
    assert move(api, job, "en_route", TECH).status_code == 200


def test_planning_moves_belong_to_the_points_manager_and_hq_admins(api, session):
    job = bring_to(api, session, "scheduled")
    assert_problem(move(api, job, "cancelled", TECH, reason="no time"), 403, code="forbidden")
    assert_problem(move(api, job, "dispatched", TECH, reason="no time"), 403, code="forbidden")
    assert_problem(move(api, job, "cancelled", "manager.hz02", reason="x"), 404)
    completed = bring_to(api, session, "completed")
    assert_problem(move(api, completed, "closed", TECH), 403)


@pytest.mark.parametrize("to", ["cancelled", "on_hold", "dispatched"])
def test_stopping_or_undoing_planned_work_needs_a_reason(api, session, to):
    job = bring_to(api, session, "scheduled")
    assert_problem(move(api, job, to, MANAGER, reason="  "), 422, field="reason")


def test_the_event_keeps_server_time_device_time_and_location_and_arrival_stops_the_sla_clock(api, session):
    with clock.frozen(MONDAY - timedelta(hours=1)):
        job = bring_to(api, session, "en_route")
    api._tokens.clear()  # the access tokens of an hour ago have expired
    device_time = MONDAY - timedelta(minutes=3)  # the phone was offline: it syncs three minutes later
    response = move(api, job, "on_site", TECH, recorded_at=device_time.isoformat(),
                    location={"lat": 30.251, "lon": 120.141})
    assert response.status_code == 200, response.json
    event = response.json["events"][-1]
    assert datetime.fromisoformat(event["recorded_at"]) == device_time
    assert datetime.fromisoformat(event["at"]) == MONDAY
    assert event["location"] == {"lat": 30.251, "lon": 120.141}
    assert datetime.fromisoformat(response.json["arrived_at"]) == device_time


def test_a_device_clock_in_the_future_or_before_the_last_event_is_clamped(api, session):
    job = bring_to(api, session, "en_route")
    later = MONDAY + timedelta(hours=5)
    arrived = move(api, job, "on_site", TECH, recorded_at=later.isoformat()).json
    assert datetime.fromisoformat(arrived["arrived_at"]) == MONDAY
    with clock.frozen(MONDAY + timedelta(hours=1)):
        api._tokens.clear()
        done = move(api, job, "completed", TECH, recorded_at=(MONDAY - timedelta(days=2)).isoformat()).json
    assert datetime.fromisoformat(done["completed_at"]) == MONDAY  # not before the arrival event
    assert datetime.fromisoformat(done["events"][-1]["recorded_at"]) == MONDAY - timedelta(days=2)


def test_completion_closing_and_cancelling_stamp_their_times(api, session):
    closed = bring_to(api, session, "closed")
    assert closed["completed_at"] and datetime.fromisoformat(closed["closed_at"]) == MONDAY
    cancelled = bring_to(api, session, "cancelled")
    assert datetime.fromisoformat(cancelled["cancelled_at"]) == MONDAY
    assert cancelled["completed_at"] is None


def test_unscheduling_releases_the_technician_and_the_slot(api, session):
    job = bring_to(api, session, "scheduled")
    assert job["technician_id"] == str(technician(session, TECH).id)
    assert api.get(f"/api/v1/jobs/{job['id']}", as_=TECH).status_code == 200
    response = move(api, job, "dispatched", MANAGER, reason="technician off sick")
    assert response.status_code == 200
    assert (response.json["technician_id"], response.json["scheduled_start"], response.json["locked"]) == (
        None, None, False)
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}", as_=TECH), 404)


def test_every_change_is_appended_to_the_audit_log(api, session):
    job = bring_to(api, session, "closed")
    entries = session.scalars(select(LogEntry).where(LogEntry.subject_id == job["id"]).order_by(LogEntry.seq)).all()
    assert [(e.kind, e.payload["from"], e.payload["to"]) for e in entries] == [
        ("job.created", None, "new"), ("job.transition", "new", "dispatched"),
        ("job.assignment", "dispatched", "scheduled"), ("job.transition", "scheduled", "en_route"),
        ("job.transition", "en_route", "on_site"), ("job.transition", "on_site", "completed"),
        ("job.transition", "completed", "closed"),
    ]
    assert [e["seq"] for e in job["events"]] == [1, 2, 3, 4, 5, 6, 7]


def test_a_transition_body_is_validated_naming_the_field(api, session):
    job = bring_to(api, session, "en_route")
    assert_problem(move(api, job, "teleported", TECH), 422, field="to")
    assert_problem(move(api, job, "on_site", TECH, recorded_at="2027-03-01T08:00:00"), 422, field="recorded_at")
    assert_problem(move(api, job, "on_site", TECH, location={"lat": 95, "lon": 0}), 422, field="location.lat")
    assert_problem(api.post("/api/v1/jobs/00000000-0000-0000-0000-000000000001/transitions", as_="admin",
                            json={"to": "cancelled", "reason": "x"}), 404)
