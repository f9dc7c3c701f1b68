"""Repair, replace or refund (三包).

HQ sets the statutory periods per product category (days from the purchase): within the refund
period a product defect may be refunded or the unit replaced, within the replace period replaced;
after that the unit is repaired. A technician (the job's) or the point's manager files a refund or
replace request from a repair of the unit, with the fault cause and photo evidence; HQ approves or
rejects it. An approval closes the old unit's warranty, expects the old unit back at HQ (a stock
unit return), binds the replacement (a new serial of the same model) to the customer with the
remaining warranty (the old purchase date carries over), and tells the customer. What the customer
bought for the old unit goes on with the replacement: its running service contracts and its
maintenance plan (rhythm and next due date) move to the new unit; on a refund the contracts are
cancelled and the plan pauses.

The same defect repaired a second time on a unit within its warranty raises a replacement
suggestion for HQ; such a unit may be replaced after the replace period too.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import maintenance, notifications
from dispatch.care.templates import Template
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network import units as network_units
from dispatch.network.models import JobType, ProductCategory, Unit
from dispatch.sop.models import Attachment
from dispatch.stock import unit_returns
from dispatch.stock.ledger import actor_id_of
from dispatch.uow import UnitOfWork
from dispatch.warranty import causes, contracts
from dispatch.warranty.enums import FaultKind, RemedyKind, RemedyStatus
from dispatch.warranty.models import (
    FaultCause,
    JobFaultCause,
    RemedyRequest,
    ReplacementSuggestion,
    StatutoryPeriods,
)

DEFAULT_REFUND_DAYS, DEFAULT_REPLACE_DAYS = 7, 15
MAX_EVIDENCE = 10


class OutsideStatutoryPeriod(Conflict):
    code = "outside-statutory-period"
    title = "Past the period for this remedy: the unit is repaired"


class RemedyNotCovered(Conflict):
    code = "remedy-not-covered"
    title = "The warranty does not cover a refund or replacement of this unit"


# --- the periods (HQ) ------------------------------------------------------------------------


def periods(session: Session, category: ProductCategory) -> StatutoryPeriods:
    row = session.get(StatutoryPeriods, category)
    return row if row is not None else StatutoryPeriods(category=category, refund_days=DEFAULT_REFUND_DAYS,
                                                        replace_days=DEFAULT_REPLACE_DAYS, version=0)


def list_periods(uow: UnitOfWork, actor: Principal) -> list[StatutoryPeriods]:
    """Every role reads the periods (a technician tells the customer what applies)."""
    with uow:
        return [periods(uow.session, category) for category in ProductCategory]


def set_periods(uow: UnitOfWork, actor: Principal, category: ProductCategory, *, refund_days: int,
                replace_days: int) -> StatutoryPeriods:
    actor.require(Role.ADMIN)
    if replace_days < refund_days:
        raise ValidationFailed("replace_days", "cannot be shorter than refund_days")
    with uow:
        row = uow.session.get(StatutoryPeriods, category, with_for_update=True)
        if row is None:
            row = StatutoryPeriods(category=category, version=0)
            uow.session.add(row)
        row.refund_days, row.replace_days = refund_days, replace_days
        row.updated_at, row.updated_by, row.version = utcnow(), actor_id_of(actor), row.version + 1
        uow.session.flush()
        audit_log.append(uow.session, kind="warranty.statutory_periods", subject_id=None, actor_id=actor_id_of(actor),
                         payload={"category": category.value, "refund_days": refund_days,
                                  "replace_days": replace_days})
        uow.commit()
        return row


# --- requests ---------------------------------------------------------------------------------


def _evidence(session: Session, job: Job, evidence: list[uuid.UUID]) -> list[str]:
    if not evidence:
        raise ValidationFailed("evidence", "attach at least one photo of the fault")
    if len(evidence) > MAX_EVIDENCE or len(set(evidence)) != len(evidence):
        raise ValidationFailed("evidence", f"1 to {MAX_EVIDENCE} different photos")
    found = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(evidence)))}
    for index, attachment_id in enumerate(evidence):
        attachment = found.get(attachment_id)
        if attachment is None or attachment.service_point_id != job.service_point_id:
            raise ValidationFailed(f"evidence.{index}", f"no photo {attachment_id} was uploaded at the job's point")
    return [str(a) for a in evidence]


def _grounds(session: Session, unit: Unit, cause: FaultCause, kind: RemedyKind, days: int) -> str:
    limits = periods(session, unit.product.category)
    if days <= limits.refund_days:
        return "refund_period"
    if kind == RemedyKind.REFUND:
        raise OutsideStatutoryPeriod(f"unit {unit.serial} was bought {days} days ago; a refund is due within "
                                     f"{limits.refund_days} days", days_since_purchase=days)
    if days <= limits.replace_days:
        return "replace_period"
    suggested = session.scalar(select(ReplacementSuggestion.id).where(ReplacementSuggestion.unit_id == unit.id,
                                                                      ReplacementSuggestion.fault_cause_id == cause.id))
    if suggested is not None:
        return "repeat_fault"
    raise OutsideStatutoryPeriod(f"unit {unit.serial} was bought {days} days ago; a replacement is due within "
                                 f"{limits.replace_days} days, or after the same defect was repaired twice: "
                                 "repair it", days_since_purchase=days)


def file_request(uow: UnitOfWork, actor: Principal, *, job_id: uuid.UUID, kind: RemedyKind,
                 fault_cause_code: str, evidence: list[uuid.UUID], note: str = "") -> RemedyRequest:
    """The job's technician or the point's manager (or HQ) asks to refund or replace the repaired unit."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False)
        causes._may_record(actor, job)
        if job.type != JobType.REPAIR or job.status == JobStatus.CANCELLED or job.unit_id is None:
            raise Conflict(f"job {job.reference} is not a repair of a registered unit; a refund or replacement "
                           "is asked from one")
        unit = uow.session.scalar(select(Unit).where(Unit.id == job.unit_id).with_for_update(of=Unit))
        cause = causes._resolve(uow.session, job, code=fault_cause_code, cause_id=None, field="fault_cause_code")
        recorded = uow.session.get(JobFaultCause, job.id)
        if recorded is not None and recorded.fault_cause_id != cause.id:
            raise ValidationFailed("fault_cause_code", f"the repair found {recorded.fault_cause.code}, not {cause.code}")
        if cause.kind != FaultKind.DEFECT:
            raise RemedyNotCovered(f"fault cause {cause.code} is misuse or an outside cause: the warranty "
                                   "neither refunds nor replaces the unit", fault_cause=cause.code)
        today = local_today()
        if not network_rules.in_warranty(unit, today):
            raise RemedyNotCovered(f"unit {unit.serial} is not in warranty "
                                   f"({network_rules.warranty_coverage(unit, today).status.value})")
        pending = uow.session.scalar(select(RemedyRequest.id).where(RemedyRequest.unit_id == unit.id,
                                                                    RemedyRequest.status == RemedyStatus.PENDING))
        if pending is not None:
            raise Conflict(f"unit {unit.serial} has a request waiting for HQ already", request_id=str(pending))
        days = (today - unit.purchased_on).days
        grounds = _grounds(uow.session, unit, cause, RemedyKind(kind), days)
        if len(note) > 2000:
            raise ValidationFailed("note", "at most 2000 characters")
        row = RemedyRequest(unit_id=unit.id, unit=unit, job_id=job.id, customer_id=unit.customer_id,
                            service_point_id=job.service_point_id, kind=RemedyKind(kind), status=RemedyStatus.PENDING,
                            fault_cause_id=cause.id, fault_cause=cause, evidence=_evidence(uow.session, job, evidence),
                            note=note.strip(), days_since_purchase=days, grounds=grounds,
                            requested_by=actor_id_of(actor), requested_at=utcnow(), decision_reason="")
        uow.session.add(row)
        uow.session.flush()
        audit_log.append(uow.session, kind="warranty.remedy_request", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"serial": unit.serial, "kind": row.kind.value, "grounds": grounds,
                                  "code": cause.code, "days_since_purchase": days, "evidence": row.evidence})
        uow.commit()
        return row


def _visible(actor: Principal, query):
    if actor.is_hq:
        return query
    actor.require(Role.MANAGER, Role.TECHNICIAN)
    return query.where(RemedyRequest.service_point_id == actor.service_point_id)


def list_requests(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
                  status: RemedyStatus | None = None) -> tuple[list[RemedyRequest], int]:
    with uow:
        query = _visible(actor, select(RemedyRequest).order_by(RemedyRequest.requested_at.desc(), RemedyRequest.id))
        if status is not None:
            query = query.where(RemedyRequest.status == status)
        return page(uow.session, query, offset=offset, limit=limit)


def _get(session: Session, actor: Principal, request_id: uuid.UUID, *, for_update: bool = False) -> RemedyRequest:
    query = _visible(actor, select(RemedyRequest).where(RemedyRequest.id == request_id))
    if for_update:
        query = query.with_for_update(of=RemedyRequest)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"request {request_id} does not exist")
    return row


def get_request(uow: UnitOfWork, actor: Principal, request_id: uuid.UUID) -> RemedyRequest:
    with uow:
        return _get(uow.session, actor, request_id)


def _replacement(session: Session, old: Unit, serial: str | None) -> Unit:
    if not serial:
        raise ValidationFailed("replacement_serial", "name the new unit that replaces the old one")
    serial, _ = network_units.parse_serial(serial, "replacement_serial")
    new = session.scalar(select(Unit).where(Unit.serial == serial).with_for_update(of=Unit))
    if new is None:
        raise ValidationFailed("replacement_serial", f"no unit has serial {serial}")
    if new.id == old.id or new.customer_id is not None or new.warranty_closed_on is not None:
        raise ValidationFailed("replacement_serial", f"unit {serial} is not a new, unsold unit")
    if new.product_id != old.product_id:
        raise ValidationFailed("replacement_serial", f"unit {serial} is a {new.product.sku}; the replacement is "
                                                     f"the same model ({old.product.sku})")
    return new


def decide(uow: UnitOfWork, actor: Principal, request_id: uuid.UUID, *, approve: bool, reason: str = "",
           replacement_serial: str | None = None) -> RemedyRequest:
    """HQ approves (closing the old card, binding the replacement, expecting the old unit back) or rejects."""
    actor.require(Role.ADMIN)
    with uow:
        row = _get(uow.session, actor, request_id, for_update=True)
        if row.status != RemedyStatus.PENDING:
            raise Conflict(f"the request was {row.status.value} already", current=row.status.value)
        if not approve and not reason.strip():
            raise ValidationFailed("reason", "say why the request is rejected")
        today: date = local_today()
        old = uow.session.scalar(select(Unit).where(Unit.id == row.unit_id).with_for_update(of=Unit))
        payload = {"serial": old.serial, "kind": row.kind.value, "approved": approve, "reason": reason.strip()}
        if approve:
            if old.warranty_closed_on is not None:
                raise Conflict(f"unit {old.serial}'s warranty was closed on {old.warranty_closed_on} already")
            if row.kind == RemedyKind.REPLACE:
                new = _replacement(uow.session, old, replacement_serial)
                network_units.bind_card(uow.session, actor, new, old.customer, purchased_on=old.purchased_on,
                                        sales_channel=old.sales_channel or "retail",
                                        reason=f"三包 replacement of {old.serial}")
                row.replacement_unit_id, row.replacement_unit = new.id, new
                payload["replacement_serial"] = new.serial
                payload["warranty_until"] = network_rules.warranty_until(new).isoformat()
            elif replacement_serial:
                raise ValidationFailed("replacement_serial", "a refund has no replacement unit")
            old.warranty_closed_on = today
            replacement = row.replacement_unit if row.kind == RemedyKind.REPLACE else None
            followed = contracts.follow_replacement(uow.session, old, replacement)
            plan = maintenance.follow_replacement(uow.session, old.id, replacement.id if replacement else None)
            payload["contracts"] = [contract.reference for contract in followed]
            payload["maintenance_plan"] = (None if plan is None else
                                           "moved" if replacement is not None and plan.unit_id == replacement.id
                                           else "paused")
            back = unit_returns.expect(uow.session, old, service_point_id=row.service_point_id,
                                       reason=f"{row.kind.value} under 三包: {row.fault_cause.code}",
                                       reference=f"remedy {row.id}", actor_id=actor_id_of(actor))
            row.unit_return_id = back.id
        row.status = RemedyStatus.APPROVED if approve else RemedyStatus.REJECTED
        row.decided_by, row.decided_at, row.decision_reason = actor_id_of(actor), utcnow(), reason.strip()
        row.version += 1
        uow.session.flush()
        notifications.notify_customer(uow.session, old.customer, Template.REMEDY_DECIDED, payload,
                                      job_id=row.job_id, service_point_id=row.service_point_id)
        audit_log.append(uow.session, kind="warranty.remedy_decision", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload=payload)
        uow.commit()
        return row
