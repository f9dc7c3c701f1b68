"""Complaints: intake by the call centre (or a point), the handling flow, per-category deadlines
and escalation to HQ when a deadline is missed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.care import notifications, rules
from dispatch.care.models import (
    Complaint,
    ComplaintCategory,
    ComplaintDeadline,
    ComplaintEvent,
    ComplaintStatus,
)
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import NotFound, PreconditionFailed, ValidationFailed
from dispatch.jobs.models import Job
from dispatch.network.models import Customer, ServicePoint, Unit
from dispatch.uow import UnitOfWork

HANDLERS = (Role.ADMIN, Role.MANAGER)
READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER)


# --- deadlines --------------------------------------------------------------------------------


def resolve_within_hours(session: Session, category: ComplaintCategory) -> int:
    row = session.get(ComplaintDeadline, category)
    return row.resolve_within_hours if row is not None else rules.DEFAULT_RESOLVE_HOURS[category]


def list_deadlines(uow: UnitOfWork, actor: Principal) -> list[ComplaintDeadline]:
    """Every category's deadline: HQ's setting, or the default (not stored) where HQ set none."""
    actor.require(*READERS)
    with uow:
        stored = {row.category: row for row in uow.session.scalars(select(ComplaintDeadline))}
        return [stored.get(category) or ComplaintDeadline(category=category,
                                                          resolve_within_hours=rules.DEFAULT_RESOLVE_HOURS[category])
                for category in ComplaintCategory]


def set_deadline(uow: UnitOfWork, actor: Principal, category: ComplaintCategory, *,
                 resolve_within_hours: int) -> ComplaintDeadline:
    """HQ changes a category's deadline; it applies to complaints received or classified from now on."""
    actor.require(Role.ADMIN)
    with uow:
        row = uow.session.get(ComplaintDeadline, category, with_for_update=True)
        if row is None:
            row = ComplaintDeadline(category=category, resolve_within_hours=resolve_within_hours)
            uow.session.add(row)
        row.resolve_within_hours = resolve_within_hours
        row.updated_by = actor.user_id
        uow.commit()
        return row


# --- intake and handling ----------------------------------------------------------------------


def _reference(received_at: datetime) -> str:
    return f"CP-{received_at:%y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def _event(session: Session, complaint: Complaint, actor: Principal, *, kind: str, at: datetime,
           from_status: ComplaintStatus | None, to_status: ComplaintStatus | None, note: str = "") -> None:
    session.add(ComplaintEvent(complaint_id=complaint.id, kind=kind, from_status=from_status, to_status=to_status,
                               note=note, actor_id=actor.user_id if actor is not SYSTEM else None, at=at))
    audit_log.append(session, kind=f"complaint.{kind}", subject_id=complaint.id,
                     payload={"reference": complaint.reference, "from": from_status, "to": to_status,
                              "category": complaint.category.value, "note": note},
                     actor_id=actor.user_id if actor is not SYSTEM else None)


def _linked_point(session: Session, actor: Principal, *, customer_id: uuid.UUID, unit_id: uuid.UUID | None,
                  job_id: uuid.UUID | None, service_point_id: uuid.UUID | None) -> uuid.UUID | None:
    """Check the links belong together and say which point answers for the complaint."""
    if session.get(Customer, customer_id) is None:
        raise ValidationFailed("customer_id", "no such customer")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise ValidationFailed("unit_id", "no such unit")
        if unit.customer_id != customer_id:
            raise ValidationFailed("unit_id", "the unit is not registered to this customer")
    point = service_point_id
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None or not actor.sees_point(job.service_point_id):
            raise ValidationFailed("job_id", "no such job")
        if job.customer_id != customer_id:
            raise ValidationFailed("job_id", "the job is not this customer's")
        if unit_id is not None and job.unit_id not in (None, unit_id):
            raise ValidationFailed("job_id", "the job is about another unit")
        if point is not None and point != job.service_point_id:
            raise ValidationFailed("service_point_id", "the job belongs to another service point")
        point = job.service_point_id
    if not actor.is_hq:
        if point not in (None, actor.service_point_id):
            raise ValidationFailed("service_point_id", "a point records complaints about itself only")
        point = actor.service_point_id
    elif point is not None and session.get(ServicePoint, point) is None:
        raise ValidationFailed("service_point_id", "no such service point")
    return point


def create_complaint(uow: UnitOfWork, actor: Principal, *, category: ComplaintCategory, customer_id: uuid.UUID,
                     summary: str, description: str = "", unit_id: uuid.UUID | None = None,
                     job_id: uuid.UUID | None = None, service_point_id: uuid.UUID | None = None,
                     received_at: datetime | None = None, intake_note: str = "") -> Complaint:
    """Record a complaint; its deadline comes from the category's table entry. The customer
    channel files as :data:`SYSTEM` after checking the customer owns the unit and job."""
    actor.require(*HANDLERS)
    now = utcnow()
    received_at = received_at or now
    if received_at > now:
        raise ValidationFailed("received_at", "cannot be in the future")
    with uow:
        session = uow.session
        point = _linked_point(session, actor, customer_id=customer_id, unit_id=unit_id, job_id=job_id,
                              service_point_id=service_point_id)
        complaint = Complaint(
            reference=_reference(received_at), category=category, status=ComplaintStatus.RECEIVED,
            customer_id=customer_id, unit_id=unit_id, job_id=job_id, service_point_id=point,
            summary=summary.strip(), description=description.strip(), received_at=received_at,
            due_at=rules.complaint_due_at(received_at, resolve_within_hours(session, category)),
            created_by=None if actor is SYSTEM else actor.user_id,
        )
        session.add(complaint)
        session.flush()
        _event(session, complaint, actor, kind="received", at=now, from_status=None,
               to_status=ComplaintStatus.RECEIVED, note=intake_note)
        uow.commit()
        return get_complaint(uow, actor, complaint.id)


def _load(session: Session, complaint_id: uuid.UUID, *, lock: bool = False) -> Complaint | None:
    query = select(Complaint).where(Complaint.id == complaint_id).options(selectinload(Complaint.events))
    if lock:
        query = query.with_for_update()
    return session.scalar(query.execution_options(populate_existing=True))


def get_complaint(uow: UnitOfWork, actor: Principal, complaint_id: uuid.UUID) -> Complaint:
    actor.require(*READERS)
    with uow:
        complaint = _load(uow.session, complaint_id)
        if complaint is None:
            raise NotFound(f"complaint {complaint_id} does not exist")
        actor.ensure_point(complaint.service_point_id, f"complaint {complaint_id}")
        return complaint


def list_complaints(uow: UnitOfWork, actor: Principal, *, status: ComplaintStatus | None = None,
                    category: ComplaintCategory | None = None, escalated: bool | None = None,
                    overdue: bool | None = None, service_point_id: uuid.UUID | None = None,
                    customer_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None,
                    offset: int = 0, limit: int = 50) -> tuple[list[Complaint], int]:
    """Complaints, the most urgent deadline first; ``overdue``/``escalated`` are HQ's work queue."""
    actor.require(*READERS)
    now = utcnow()
    with uow:
        query = select(Complaint)
        point = actor.point_filter() or service_point_id
        if point is not None:
            query = query.where(Complaint.service_point_id == point)
        for column, value in ((Complaint.status, status), (Complaint.category, category),
                              (Complaint.customer_id, customer_id), (Complaint.job_id, job_id)):
            if value is not None:
                query = query.where(column == value)
        if escalated is not None:
            query = query.where(Complaint.escalated_at.is_not(None) if escalated else Complaint.escalated_at.is_(None))
        if overdue is not None:
            late = Complaint.status.in_(rules.OPEN_COMPLAINT) & (Complaint.due_at < now)
            query = query.where(late if overdue else ~late)
        return page(uow.session, query.options(selectinload(Complaint.events)).order_by(Complaint.due_at, Complaint.id),
                    offset=offset, limit=limit)


def transition_complaint(uow: UnitOfWork, actor: Principal, complaint_id: uuid.UUID, *, to_status: ComplaintStatus,
                         note: str = "", category: ComplaintCategory | None = None,
                         expected_version: int | None = None) -> Complaint:
    """Move a complaint along its flow (classification may correct the category and its deadline)."""
    actor.require(*HANDLERS)
    note = note.strip()
    with uow:
        session = uow.session
        complaint = _load(session, complaint_id, lock=True)
        if complaint is None:
            raise NotFound(f"complaint {complaint_id} does not exist")
        actor.ensure_point(complaint.service_point_id, f"complaint {complaint_id}")
        if expected_version is not None and complaint.version != expected_version:
            raise PreconditionFailed(f"complaint {complaint.reference} changed since it was read")
        rules.check_complaint_transition(complaint.status, to_status, complaint.reference)
        if to_status in rules.HQ_ONLY_MOVES:
            actor.require(Role.ADMIN)
        if to_status in rules.NOTE_REQUIRED and not note:
            raise ValidationFailed("note", f"say what was {'proposed' if to_status == ComplaintStatus.SOLUTION_PROPOSED else 'done'}")
        if category is not None and to_status != ComplaintStatus.CLASSIFIED:
            raise ValidationFailed("category", "the category is set when the complaint is classified")
        now = utcnow()
        if category is not None and category != complaint.category:
            note = f"{note} (category {complaint.category.value} -> {category.value})".strip()
            complaint.category = category
            complaint.due_at = rules.complaint_due_at(complaint.received_at, resolve_within_hours(session, category))
        if to_status in (ComplaintStatus.SOLUTION_PROPOSED, ComplaintStatus.RESOLVED):
            complaint.resolution = note
        if to_status == ComplaintStatus.RESOLVED:
            complaint.resolved_at = now
        elif to_status == ComplaintStatus.INVESTIGATING:
            complaint.resolved_at = None  # reopened: the proposal or resolution was turned down
        elif to_status == ComplaintStatus.CLOSED:
            complaint.closed_at = now
        previous = complaint.status
        complaint.status = to_status
        _event(session, complaint, actor, kind="transition", at=now, from_status=previous, to_status=to_status,
               note=note)
        uow.commit()
        return get_complaint(uow, actor, complaint.id)


# --- escalation (the hourly task) -------------------------------------------------------------


def escalate_overdue(uow: UnitOfWork) -> list[str]:
    """Mark every open complaint past its deadline as escalated and notify HQ, once per complaint."""
    now = utcnow()
    with uow:
        session = uow.session
        overdue = session.scalars(
            select(Complaint)
            .where(Complaint.escalated_at.is_(None), Complaint.status.in_(rules.OPEN_COMPLAINT),
                   Complaint.due_at < now)
            .order_by(Complaint.due_at)
            .with_for_update(skip_locked=True)
        ).all()
        escalated = []
        for complaint in overdue:
            if not rules.needs_escalation(complaint.status, complaint.due_at, complaint.escalated_at, now):
                continue
            complaint.escalated_at = now
            _event(session, complaint, SYSTEM, kind="escalated", at=now, from_status=complaint.status,
                   to_status=complaint.status, note=f"deadline {complaint.due_at.isoformat()} missed")
            notifications.notify_hq(session, Template.COMPLAINT_ESCALATED, {
                "reference": complaint.reference, "category": complaint.category.value,
                "summary": complaint.summary, "due_at": complaint.due_at.isoformat(),
                "complaint_id": str(complaint.id),
            }, service_point_id=complaint.service_point_id)
            escalated.append(complaint.reference)
        uow.commit()
        return escalated
