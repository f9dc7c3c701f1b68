"""A job's SOP checklist: opened when the job is scheduled (pinned to the version in force),
filled step by step by the assigned technician on site, gating the job's completion, read-only
afterwards. Every submission is a new revision and an entry in the tamper-evident log."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.jobs.models import Job, JobStatus
from dispatch.jobs.service import get_visible_job
from dispatch.network.models import Product
from dispatch.sop.attachments import visible_attachments
from dispatch.sop.models import (
    Attachment,
    Checklist,
    ChecklistStatus,
    SopStep,
    SopVersion,
    StepEvidence,
    StepResult,
)
from dispatch.sop.rules import Answer, Outcome, Reason, StepStatus, evaluate, judge, normalise, waiting_for
from dispatch.sop.templates import recorded_actor_id, version_in_force
from dispatch.uow import UnitOfWork

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ChecklistIncomplete(Conflict):
    """The job cannot complete: required steps are missing or blocking steps failed."""

    code = "checklist-incomplete"
    title = "The SOP checklist is incomplete"


class ChecklistReadOnly(Conflict):
    code = "checklist-read-only"
    title = "The checklist is read-only"


class StepOutOfOrder(Conflict):
    code = "step-out-of-order"
    title = "Earlier SOP steps are missing"


@dataclass(frozen=True)
class StepState:
    """One step of a checklist with its current state (and, on request, every revision)."""

    step: SopStep
    status: StepStatus
    reasons: tuple[Reason, ...]
    prerequisites: tuple[str, ...]
    waiting_for: tuple[str, ...]
    current: StepResult | None
    revisions: tuple[StepResult, ...] | None


@dataclass(frozen=True)
class ChecklistView:
    """A checklist as people read it: its pinned version, each step's state, what is missing."""

    checklist: Checklist
    version: SopVersion
    steps: tuple[StepState, ...]
    outcome: Outcome

    def step(self, key: str) -> StepState:
        return next(s for s in self.steps if s.step.key == key)


# --- loading and evaluating --------------------------------------------------------------------


def load_checklist(session, *, job_id: uuid.UUID | None = None, checklist_id: uuid.UUID | None = None,
                   for_update: bool = False) -> Checklist | None:
    """A checklist (by job or by id) with its version, steps, results and their attachments."""
    query = select(Checklist).options(
        selectinload(Checklist.template_version).selectinload(SopVersion.steps),
        selectinload(Checklist.template_version).selectinload(SopVersion.template),
        selectinload(Checklist.results).selectinload(StepResult.evidence).selectinload(StepEvidence.attachment),
        selectinload(Checklist.job),
    )
    query = query.where(Checklist.job_id == job_id) if job_id is not None else query.where(Checklist.id == checklist_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def _current(checklist: Checklist) -> dict[str, StepResult]:
    """The newest revision of every submitted step."""
    current: dict[str, StepResult] = {}
    for result in checklist.results:
        if result.step_key not in current or result.revision > current[result.step_key].revision:
            current[result.step_key] = result
    return current


def _outcome(checklist: Checklist) -> tuple[Outcome, dict[str, StepResult]]:
    current = _current(checklist)
    answers = {key: Answer(r.value, len(r.evidence)) for key, r in current.items()}
    return evaluate(checklist.template_version.specs(), answers), current


def build_view(checklist: Checklist, *, include_revisions: bool = False) -> ChecklistView:
    """Each step's state judged on the current values (a loaded checklist; no queries)."""
    outcome, current = _outcome(checklist)
    steps = []
    for step in checklist.template_version.steps:
        state = outcome.step(step.key)
        revisions = None
        if include_revisions:
            revisions = tuple(sorted((r for r in checklist.results if r.step_key == step.key),
                                     key=lambda r: r.revision))
        steps.append(StepState(step=step, status=state.status, reasons=state.reasons,
                               prerequisites=state.prerequisites, waiting_for=state.waiting_for,
                               current=current.get(step.key), revisions=revisions))
    return ChecklistView(checklist, checklist.template_version, tuple(steps), outcome)


# --- helpers joining the caller's transaction (job hooks, mobile sync) -------------------------


def open_for_job(session, job: Job) -> Checklist | None:
    """Give ``job`` its checklist pinned to the version in force now, unless it has one.

    None when no published template applies to the job's type and model: such a job has no
    checklist, and nothing stops its completion.
    """
    existing = session.scalar(select(Checklist).where(Checklist.job_id == job.id))
    if existing is not None:
        return existing
    product = session.get(Product, job.product_id)
    version = version_in_force(session, job_type=job.type, product=product)
    if version is None:
        return None
    checklist = Checklist(job_id=job.id, template_version_id=version.id, service_point_id=job.service_point_id,
                          status=ChecklistStatus.OPEN, flagged_steps=[])
    session.add(checklist)
    return checklist


def ensure_complete(session, job: Job) -> None:
    """Refuse (409 ``checklist-incomplete``) while a required step is missing or a blocking step
    failed; the problem lists both. A job without a checklist passes."""
    checklist = load_checklist(session, job_id=job.id, for_update=True)
    if checklist is None or checklist.is_read_only:
        return
    outcome, _ = _outcome(checklist)
    if outcome.complete:
        return
    titles = {s.key: s.title for s in checklist.template_version.steps}
    parts = []
    if outcome.missing_required:
        parts.append("missing: " + ", ".join(titles[k] for k in outcome.missing_required))
    if outcome.failed:
        parts.append("failed: " + ", ".join(titles[k] for k in outcome.failed))
    raise ChecklistIncomplete(
        f"job {job.reference} cannot complete until its SOP checklist is complete ({'; '.join(parts)})",
        missing_steps=list(outcome.missing_required),
        failed_steps=list(outcome.failed),
    )


def result_sha256(checklist: Checklist) -> str:
    """Hash of the current results (value, status, evidence hashes per step), canonical JSON."""
    current = _current(checklist)
    content = {key: {"revision": r.revision, "value": r.value, "status": r.status.value,
                     "evidence": [link.attachment.sha256 for link in r.evidence]}
               for key, r in sorted(current.items())}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def follow_job(session, job: Job, *, to_status: JobStatus, at: datetime, actor: Principal) -> Checklist | None:
    """Keep the checklist in step with its job: opened when scheduled, moved with a transfer,
    closed (read-only) when the job completes or is cancelled."""
    if to_status == JobStatus.SCHEDULED:
        checklist = open_for_job(session, job)
    else:
        checklist = session.scalar(select(Checklist).where(Checklist.job_id == job.id))
    if checklist is None:
        return None
    if checklist.service_point_id != job.service_point_id:
        checklist.service_point_id = job.service_point_id
    if checklist.is_read_only:
        return checklist
    if to_status == JobStatus.CANCELLED:
        checklist.status = ChecklistStatus.CANCELLED
    elif to_status == JobStatus.COMPLETED:
        checklist = load_checklist(session, job_id=job.id)  # with its results, to freeze them
        outcome, _ = _outcome(checklist)
        checklist.status = ChecklistStatus.COMPLETED
        checklist.completed_at = at
        checklist.technician_id = job.technician_id
        checklist.flagged_steps = list(outcome.flagged)
        checklist.result_sha256 = result_sha256(checklist)
        session.flush()
        audit_log.append(session, kind="sop.checklist.completed", subject_id=checklist.id,
                         actor_id=recorded_actor_id(actor),
                         payload={"job_id": str(job.id), "template_version_id": str(checklist.template_version_id),
                                  "result_sha256": checklist.result_sha256, "flagged_steps": checklist.flagged_steps})
    session.flush()
    return checklist


def record_step(
    session,
    actor: Principal,
    job: Job,
    key: str,
    *,
    value: Any,
    evidence_ids: Sequence[uuid.UUID] = (),
    recorded_at: datetime | None = None,
    location: Mapping[str, float] | None = None,
    source: str = "api",
) -> StepResult:
    """Record one submission of step ``key`` on ``job``'s checklist, in the caller's transaction.

    Only the job's assigned technician, only while the job is on site, only while the checklist
    is open (409 otherwise), only once the step's prerequisites are in (409 naming them). A value
    of the wrong kind or the wrong number of attachments is a 422; a value out of range is
    stored and the step failed or flagged. A re-submission becomes the next revision; the
    earlier ones stay. The submission is appended to the audit log.
    """
    if actor.role != Role.TECHNICIAN or actor.technician_id is None or job.technician_id != actor.technician_id:
        raise Forbidden(f"only the technician assigned to job {job.reference} records its SOP steps")
    checklist = load_checklist(session, job_id=job.id, for_update=True)
    if checklist is None:
        raise NotFound(f"job {job.reference} has no SOP checklist")
    if checklist.is_read_only:
        raise ChecklistReadOnly(f"the checklist of job {job.reference} is {checklist.status.value}; it is read-only",
                                checklist_status=checklist.status.value)
    if job.status != JobStatus.ON_SITE:
        raise Conflict(f"job {job.reference} is {job.status.value}; steps are recorded while it is on_site",
                       job_status=job.status.value)
    if key not in {s.key for s in checklist.template_version.steps}:
        raise NotFound(f"the checklist of job {job.reference} has no step {key!r}")
    missing = waiting_for(checklist.template_version.specs(), key, _current(checklist))
    if missing:
        raise StepOutOfOrder(f"step {key} needs these steps first: {', '.join(missing)}", missing_steps=list(missing))
    attachments = visible_attachments(session, actor, list(evidence_ids), field="evidence")
    result = append_result(session, checklist, key, value=value, attachments=attachments, actor=actor,
                           recorded_at=recorded_at, location=location, source=source)
    session.flush()
    audit_log.append(session, kind="sop.step_result", subject_id=checklist.id, actor_id=result.actor_id, seal=[result],
                     payload={
        "job_id": str(job.id), "step_key": key, "revision": result.revision, "value": result.value,
        "status": result.status.value, "evidence_sha256": [a.sha256 for a in attachments],
        "recorded_at": recorded_at.isoformat() if recorded_at else None, "lat": result.lat, "lon": result.lon,
        "source": source,
    })
    return result


def append_result(
    session,
    checklist: Checklist,
    key: str,
    *,
    value: Any,
    attachments: Sequence[Attachment],
    actor: Principal,
    recorded_at: datetime | None,
    location: Mapping[str, float] | None = None,
    received_at: datetime | None = None,
    source: str = "api",
) -> StepResult:
    """Validate, judge and append the next revision of step ``key`` to a loaded ``checklist``.

    No gates and no audit-log entry here: :func:`record_step` adds both. The demo seeds use this
    directly to write the history of jobs completed before the demo was loaded (their completion
    entry in the log carries the hash of those results).
    """
    spec = next(s for s in checklist.template_version.specs() if s.key == key)
    current = _current(checklist)
    stored = normalise(spec, value, len(attachments))
    judgement = judge(spec, stored, {k: r.value for k, r in current.items() if k != key})
    lat, lon = (location["lat"], location["lon"]) if location else (None, None)
    result = StepResult(
        step_key=key, revision=current[key].revision + 1 if key in current else 1, value=stored,
        status=judgement.status, reasons=[r.as_dict() for r in judgement.reasons], recorded_at=recorded_at,
        received_at=received_at or utcnow(), lat=lat, lon=lon, actor_id=recorded_actor_id(actor),
        technician_id=actor.technician_id, source=source,
        evidence=[StepEvidence(position=i, attachment_id=a.id, attachment=a) for i, a in enumerate(attachments)],
    )
    checklist.results.append(result)
    return result


# --- use cases -----------------------------------------------------------------------------------


def submit_step(
    uow: UnitOfWork,
    actor: Principal,
    *,
    job_id: uuid.UUID,
    key: str,
    value: Any,
    evidence: Sequence[uuid.UUID] = (),
    recorded_at: datetime | None = None,
    location: Mapping[str, float] | None = None,
) -> StepState:
    """The assigned technician records a step result (see :func:`record_step`)."""
    actor.require(Role.TECHNICIAN)
    with uow:
        job = get_visible_job(uow.session, actor, job_id, with_events=False)
        result = record_step(uow.session, actor, job, key, value=value, evidence_ids=evidence,
                             recorded_at=recorded_at, location=location)
        view = build_view(result.checklist)
        uow.commit()
    return view.step(key)


def get_checklist(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *,
                  include_revisions: bool = False) -> ChecklistView:
    """The job's checklist with each step's state; ``include_revisions`` adds every submission."""
    with uow:
        job = get_visible_job(uow.session, actor, job_id, with_events=False)
        checklist = load_checklist(uow.session, job_id=job.id)
        if checklist is None:
            raise NotFound(f"job {job.reference} has no SOP checklist")
        return build_view(checklist, include_revisions=include_revisions)


def get_checklist_by_id(uow: UnitOfWork, actor: Principal, checklist_id: uuid.UUID, *,
                        include_revisions: bool = False) -> ChecklistView:
    """A checklist by its own id (what reviewers' samples refer to), scoped like its job."""
    with uow:
        checklist = load_checklist(uow.session, checklist_id=checklist_id)
        if checklist is None:
            raise NotFound(f"checklist {checklist_id} does not exist")
        try:
            get_visible_job(uow.session, actor, checklist.job_id, with_events=False)
        except NotFound as exc:
            raise NotFound(f"checklist {checklist_id} does not exist") from exc
        return build_view(checklist, include_revisions=include_revisions)


def week_bounds(week: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """ISO week ``YYYY-Www`` in local time ``tz`` as a UTC-comparable [start, end) pair."""
    match = _WEEK.match(week)
    try:
        if match is None:
            raise ValueError(week)
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValidationFailed("week", "an ISO week like 2026-W48") from exc
    start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    end_day = monday + timedelta(days=7)
    return start, datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)


def list_checklists(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    tz: tzinfo,
    service_point_id: uuid.UUID | None = None,
    week: str | None = None,
    status: ChecklistStatus | None = None,
    technician_id: uuid.UUID | None = None,
) -> tuple[list[Checklist], int]:
    """Checklists by service point, completion week (local ISO week), status and technician,
    oldest completion first: the reviewers' entry point (HQ: every point; a manager: theirs)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    query = select(Checklist)
    point = actor.point_filter()
    if point is not None:
        query = query.where(Checklist.service_point_id == point)
    if service_point_id is not None:
        query = query.where(Checklist.service_point_id == service_point_id)
    if week is not None:
        start, end = week_bounds(week, tz)
        query = query.where(Checklist.completed_at >= start, Checklist.completed_at < end)
    if status is not None:
        query = query.where(Checklist.status == status)
    if technician_id is not None:
        query = query.where(Checklist.technician_id == technician_id)
    with uow:
        return page(uow.session,
                    query.order_by(Checklist.completed_at.is_(None), Checklist.completed_at, Checklist.created_at,
                                   Checklist.id)
                    .options(selectinload(Checklist.template_version).selectinload(SopVersion.template),
                             selectinload(Checklist.job)), offset=offset, limit=limit)
