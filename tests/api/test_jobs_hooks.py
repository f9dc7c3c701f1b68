"""Every change of a job runs the lifecycle hooks other domains rely on; a before-hook can refuse."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.errors import RuleViolation
from dispatch.jobs import hooks
from dispatch.jobs.models import JobEvent, JobStatus
from tests.api.jobs_builders import MONDAY, TUESDAY, assign, create_job, local, move, point, technician
from tests.helpers import assert_problem


@pytest.fixture
def recorded(monkeypatch):
    """Replace the registered hooks with recorders (and nothing else) for the test."""
    seen: list[tuple[str, object]] = []

    def before(change):
        seen.append(("before", change, change.job.status))

    def after(change):
        seen.append(("after", change, change.job.status))

    monkeypatch.setattr(hooks, "_before", [before])
    monkeypatch.setattr(hooks, "_after", [after])
    monkeypatch.setattr(hooks, "_loaded", True)
    with clock.frozen(MONDAY):
        yield seen


def summary(seen):
    return [(when, c.from_status.value if c.from_status else None, c.to_status.value, state.value)
            for when, c, state in seen]


def test_intake_assignment_transitions_and_transfer_each_run_before_and_after_hooks(api, session, recorded):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    assign(api, job, tech.id, local(TUESDAY, 10))
    move(api, job, "on_hold", "tech.hz01.1", reason="waiting for parts")
    transferred = api.post(f"/api/v1/jobs/{job['id']}/transfer", as_="admin",
                           json={"service_point_id": str(point(session, "HZ02").id), "reason": "parts at HZ02"})
    assert transferred.status_code == 200, transferred.json
    # before-hooks see the job as it was, after-hooks as it became
    assert summary(recorded) == [  # a new job runs the hooks once: NEW -> DISPATCHED, in one transaction
        ("before", "new", "dispatched", "new"), ("after", "new", "dispatched", "dispatched"),
        ("before", "dispatched", "scheduled", "dispatched"), ("after", "dispatched", "scheduled", "scheduled"),
        ("before", "scheduled", "on_hold", "scheduled"), ("after", "scheduled", "on_hold", "on_hold"),
        ("before", "on_hold", "dispatched", "on_hold"), ("after", "on_hold", "dispatched", "dispatched"),
    ]
    assignment = recorded[3][1]
    assert assignment.data["technician_id"] == str(tech.id) and assignment.job.technician_id == tech.id
    hold = recorded[5][1]
    assert hold.reason == "waiting for parts" and hold.actor.username == "tech.hz01.1"
    transfer = recorded[7][1]
    assert transfer.previous_service_point_id == point(session, "HZ01").id
    assert transfer.previous_technician_id == tech.id and transfer.job.technician_id is None
    assert transfer.at == MONDAY


def test_a_before_hook_refusing_completion_leaves_no_trace(api, session, recorded, monkeypatch):
    def sop_gate(change):
        if change.to_status == JobStatus.COMPLETED:
            raise RuleViolation("the checklist is incomplete", missing_steps=["photo of the installation"])

    monkeypatch.setattr(hooks, "_before", [sop_gate])
    job = create_job(api, session)
    assign(api, job, technician(session, "tech.hz01.1").id, local(TUESDAY, 10))
    move(api, job, "en_route", "tech.hz01.1")
    move(api, job, "on_site", "tech.hz01.1")
    log_size = session.scalar(select(func.count()).select_from(LogEntry))
    body = assert_problem(move(api, job, "completed", "tech.hz01.1"), 422, code="rule-violation")
    assert body["missing_steps"] == ["photo of the installation"]
    after = api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json
    assert after["status"] == "on_site" and after["completed_at"] is None
    assert session.scalar(select(func.count()).select_from(JobEvent).where(JobEvent.job_id == uuid.UUID(job["id"]))) == 5
    assert session.scalar(select(func.count()).select_from(LogEntry)) == log_size
