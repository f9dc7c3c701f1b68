"""Shared helpers for the care and KPI tests: demo rows, a job driven through its lifecycle, a
sender that records what it was asked to send."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth.models import Role, User
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.care import job_hooks
from dispatch.care.senders import OutgoingMessage, SendError
from dispatch.jobs import hooks
from dispatch.jobs import rules as job_rules
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Technician
from tests.dates import TZ, local



def next_weekday(after: date) -> date:
    """The first Monday-to-Friday day after ``after``."""
    day = after + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def care_hooks_only(monkeypatch):
    """Run the job lifecycle with only the care hooks: the SOP completion gate and stock
    reservations belong to other tests; here a job completes when its technician says so."""
    monkeypatch.setattr(hooks, "_before", [])
    monkeypatch.setattr(hooks, "_after", [job_hooks.follow_the_customer, job_hooks.follow_maintenance_plans])
    monkeypatch.setattr(hooks, "_loaded", True)


def technician_principal(session, technician: Technician) -> Principal:
    user = session.get(User, technician.user_id)
    return Principal(user_id=user.id, username=user.username, role=Role.TECHNICIAN,
                     service_point_id=technician.service_point_id, technician_id=technician.id)


def qualified_technician(session, job: Job, start: datetime) -> Technician:
    candidates = session.scalars(
        select(Technician).where(Technician.service_point_id == job.service_point_id)
        .options(selectinload(Technician.skills), selectinload(Technician.certifications),
                 selectinload(Technician.shifts), selectinload(Technician.shift_exceptions))
        .order_by(Technician.name, Technician.id)
    ).all()
    product = job.product
    for technician in candidates:
        if job_rules.assignment_violation(technician, service_point_id=job.service_point_id,
                                          category=product.category, job_type=job.type, start=start,
                                          minutes=job.duration_minutes, tz=TZ) is None:
            return technician
    raise AssertionError(f"no technician of the point may take {job.reference} at {start}")


def drive(uow_factory, job_id: uuid.UUID, *, to: JobStatus = JobStatus.COMPLETED, start: datetime) -> Job:
    """Schedule ``job_id`` at ``start`` with a qualified technician and move it up to ``to``."""
    with uow_factory() as uow:
        job = uow.session.scalar(select(Job).where(Job.id == job_id).options(selectinload(Job.product)))
        technician = qualified_technician(uow.session, job, start)
        actor = technician_principal(uow.session, technician)
    job = jobs_service.assign_job(uow_factory(), SYSTEM, job_id, technician_id=technician.id,
                                  scheduled_start=start, tz=TZ)
    for status in (JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.COMPLETED):
        if job.status == to:
            break
        job = jobs_service.transition_job(uow_factory(), actor, job_id, to=status)
    return job


class RecordingSender:
    """Accepts every message and remembers it (or refuses the first ``fail_first`` attempts)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[OutgoingMessage] = []
        self.refused = 0
        self._fail_first = fail_first

    def send(self, message: OutgoingMessage) -> None:
        if self.refused < self._fail_first:
            self.refused += 1
            raise SendError("gateway timeout")
        self.sent.append(message)


RATING_LINK = re.compile(r"/feedback/(?P<token>[A-Za-z0-9_.\-]+)$")


def rating_token(message: OutgoingMessage) -> str:
    match = RATING_LINK.search(message.body)
    assert match, message.body
    return match["token"]
