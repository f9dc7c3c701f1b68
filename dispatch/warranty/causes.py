"""The fault cause catalogue (HQ, per product category) and the cause each repair found.

A repair job cannot complete without a fault cause from the catalogue (``ensure_recorded``, a
before-hook of the completion; a recall visit excepted). A cause that is misuse or an outside cause (water quality, a
third party's installation, physical damage) makes the repair chargeable: labour and parts are
billed to the customer at list price (the bill never prices above list), and the job's open
warranty claims are rejected with that reason. Corrected to a product defect before completion,
the coverage decided at intake comes back and those claims wait for HQ again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.db import page
from dispatch.network.common import check_version
from dispatch.network.models import JobType, Product, ProductCategory
from dispatch.stock import claims
from dispatch.stock.ledger import actor_id_of
from dispatch.uow import UnitOfWork
from dispatch.warranty import contracts
from dispatch.warranty.enums import FaultKind
from dispatch.warranty.models import FaultCause, JobFaultCause, RecallUnit
from dispatch.warranty.suggestions import suggest_if_repeat

OPEN_FOR_CAUSE = frozenset({JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE})
"""A cause is recorded (or corrected) while the repair is under way; completion fixes it."""
EDITABLE = ("component", "symptom", "cause", "kind", "active")


class FaultCauseMissing(Conflict):
    code = "fault-cause-missing"
    title = "The repair has no fault cause"


# --- the catalogue (HQ) ----------------------------------------------------------------------


def list_causes(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
                category: ProductCategory | None = None, kind: FaultKind | None = None,
                active: bool | None = None) -> tuple[list[FaultCause], int]:
    """Every role reads the catalogue (technicians pick a cause from it at the customer's)."""
    with uow:
        query = select(FaultCause).order_by(FaultCause.category, FaultCause.component, FaultCause.code)
        if category is not None:
            query = query.where(FaultCause.category == category)
        if kind is not None:
            query = query.where(FaultCause.kind == kind)
        if active is not None:
            query = query.where(FaultCause.active.is_(active))
        return page(uow.session, query, offset=offset, limit=limit)


def _get(session: Session, cause_id: uuid.UUID, *, for_update: bool = False) -> FaultCause:
    query = select(FaultCause).where(FaultCause.id == cause_id)
    if for_update:
        query = query.with_for_update()
    cause = session.scalar(query)
    if cause is None:
        raise NotFound(f"fault cause {cause_id} does not exist")
    return cause


def get_cause(uow: UnitOfWork, actor: Principal, cause_id: uuid.UUID) -> FaultCause:
    with uow:
        return _get(uow.session, cause_id)


def _text(value: str, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ValidationFailed(field, f"needs 1 to {limit} characters")
    return value


def create_cause(uow: UnitOfWork, actor: Principal, *, code: str, category: ProductCategory, component: str,
                 symptom: str, cause: str, kind: FaultKind) -> FaultCause:
    """HQ adds a cause to the catalogue (codes are unique and never reused)."""
    actor.require(Role.ADMIN)
    code = _text(code, "code", 64).upper()
    with uow:
        if uow.session.scalar(select(FaultCause.id).where(FaultCause.code == code)) is not None:
            raise Conflict(f"fault cause {code} exists already")
        row = FaultCause(code=code, category=ProductCategory(category), component=_text(component, "component", 120),
                         symptom=_text(symptom, "symptom", 200), cause=_text(cause, "cause", 200),
                         kind=FaultKind(kind), active=True)
        uow.session.add(row)
        uow.session.flush()
        audit_log.append(uow.session, kind="warranty.fault_cause", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"code": row.code, "category": row.category.value, "kind": row.kind.value,
                                  "component": row.component, "symptom": row.symptom, "cause": row.cause})
        uow.commit()
        return row


def update_cause(uow: UnitOfWork, actor: Principal, cause_id: uuid.UUID, *, expected_version: int | None = None,
                 **changes: Any) -> FaultCause:
    """HQ corrects an entry or retires it (``active: false``: no longer offered, history kept)."""
    actor.require(Role.ADMIN)
    with uow:
        row = _get(uow.session, cause_id, for_update=True)
        check_version(row, expected_version, f"fault cause {row.code}")
        limits = {"component": 120, "symptom": 200, "cause": 200}
        for name in EDITABLE:
            if name not in changes or changes[name] is None:
                continue
            value = changes[name]
            if name in limits:
                value = _text(value, name, limits[name])
            elif name == "kind":
                value = FaultKind(value)
            setattr(row, name, value)
        row.version += 1
        uow.session.flush()
        audit_log.append(uow.session, kind="warranty.fault_cause", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"code": row.code, "kind": row.kind.value, "active": row.active,
                                  "changes": sorted(k for k in changes if k in EDITABLE)})
        uow.commit()
        return row


# --- a repair's cause ------------------------------------------------------------------------


def _resolve(session: Session, job: Job, *, code: str | None, cause_id: uuid.UUID | None, field: str) -> FaultCause:
    if (code is None) == (cause_id is None):
        raise ValidationFailed(field, "name the fault cause by code or id")
    query = select(FaultCause)
    query = query.where(FaultCause.code == code.strip().upper()) if code is not None \
        else query.where(FaultCause.id == cause_id)
    cause = session.scalar(query)
    if cause is None:
        raise ValidationFailed(field, f"no fault cause {code or cause_id} in the catalogue")
    if not cause.active:
        raise ValidationFailed(field, f"fault cause {cause.code} is retired")
    product = session.get(Product, job.product_id)
    if product is not None and product.category != cause.category:
        raise ValidationFailed(field, f"fault cause {cause.code} is for {cause.category.value}, "
                                      f"the job's product is a {product.category.value}")
    return cause


def _may_record(actor: Principal, job: Job) -> None:
    if actor.is_admin:
        return
    if actor.role == Role.MANAGER and actor.service_point_id == job.service_point_id:
        return
    if actor.role == Role.TECHNICIAN and actor.technician_id is not None and actor.technician_id == job.technician_id:
        return
    raise Forbidden("the assigned technician, the point's manager or HQ records a repair's fault cause")


def record(session: Session, actor: Principal, job: Job, *, code: str | None = None,
           cause_id: uuid.UUID | None = None, note: str = "", recorded_at: datetime | None = None,
           field: str = "fault_cause_code") -> JobFaultCause:
    """Record (or correct) the fault cause of a repair and apply what it decides (no commit)."""
    _may_record(actor, job)
    if job.type != JobType.REPAIR:
        raise Conflict(f"job {job.reference} is a {job.type.value} job; fault causes are recorded on repairs")
    if job.status not in OPEN_FOR_CAUSE:
        raise Conflict(f"job {job.reference} is {job.status.value}; its fault cause is recorded while the "
                       "repair is under way", current=job.status.value)
    if len(note) > 2000:
        raise ValidationFailed("note", "at most 2000 characters")
    cause = _resolve(session, job, code=code, cause_id=cause_id, field=field)
    row = session.get(JobFaultCause, job.id)
    previous = row.fault_cause.kind if row is not None else None
    if row is None:
        row = JobFaultCause(job_id=job.id, intake_labour_covered=job.labour_covered,
                            intake_parts_covered=job.parts_covered)
        session.add(row)
    row.fault_cause_id, row.fault_cause, row.note = cause.id, cause, note.strip()
    row.actor_id, row.recorded_at, row.at = actor_id_of(actor), recorded_at, utcnow()
    detail = f"fault cause {cause.code} ({cause.component}: {cause.cause}) is {cause.kind.value}"
    if cause.kind == FaultKind.MISUSE:
        job.labour_covered, job.parts_covered = False, False
        claims.reject_for_fault(session, job, detail=f"{detail}: the customer pays, the warranty does not",
                                actor_id=actor_id_of(actor))
    elif previous == FaultKind.MISUSE:
        job.labour_covered, job.parts_covered = row.intake_labour_covered, row.intake_parts_covered
        claims.reopen_after_fault(session, job, detail=detail, actor_id=actor_id_of(actor))
    session.flush()
    suggest_if_repeat(session, job, cause)
    contracts.refresh_cover(session, job)
    audit_log.append(session, kind="warranty.job_fault_cause", subject_id=job.id, actor_id=actor_id_of(actor),
                     payload={"reference": job.reference, "code": cause.code, "kind": cause.kind.value,
                              "note": row.note, "labour_covered": job.labour_covered,
                              "parts_covered": job.parts_covered})
    return row


def set_job_cause(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, code: str | None = None,
                  cause_id: uuid.UUID | None = None, note: str = "") -> JobFaultCause:
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False)
        row = record(uow.session, actor, job, code=code, cause_id=cause_id, note=note)
        uow.commit()
        return row


def get_job_cause(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> JobFaultCause:
    """The repair's cause; one with ``fault_cause`` None while none is recorded."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, with_events=False)
        row = uow.session.get(JobFaultCause, job.id)
        return row if row is not None else JobFaultCause(job_id=job.id, fault_cause=None, note="")


def ensure_recorded(session: Session, job: Job) -> None:
    """Refuse to complete a repair without a fault cause (409 ``fault-cause-missing``). A recall
    visit needs none: its reason is the campaign's, and a cause picked to get past the check would
    only blur the causes per model."""
    if job.type == JobType.REPAIR and session.get(JobFaultCause, job.id) is None and session.scalar(
            select(RecallUnit.job_id).where(RecallUnit.job_id == job.id)) is None:
        raise FaultCauseMissing(f"repair {job.reference} cannot complete without a fault cause from the catalogue: "
                                f"PUT /api/v1/jobs/{job.id}/fault-cause (or the fault_cause sync mutation)",
                                job_id=str(job.id))
