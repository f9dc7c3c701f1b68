"""The customer's visits: report a fault, follow the visit, cancel or move it within the point's
rules, see and confirm the bill, rate the visit, file and follow complaints.

Every function takes the signed-in :class:`CustomerPrincipal`; a job, bill or complaint of another
customer answers exactly like a missing one (404). Writes go through the same services staff
use (intake, transitions, ratings, complaints), acting as the system on the customer's behalf.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.principal import SYSTEM, CustomerPrincipal
from dispatch.care import complaint_answers
from dispatch.care import complaints as care_complaints
from dispatch.care import feedback
from dispatch.care.models import Complaint, ComplaintCategory, ComplaintChannel
from dispatch.clock import utcnow
from dispatch.customers.models import BillConfirmation
from dispatch.customers.units import own_unit
from dispatch.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from dispatch.i18n import N_
from dispatch.jobs import intake
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, ServicePoint
from dispatch.routing import slots
from dispatch.sop.models import Checklist, SopStep, StepResult
from dispatch.sop.rules import StepKind
from dispatch.sop.storage import EvidenceStore
from dispatch.stock import billing
from dispatch.uow import UnitOfWork

CANCELLABLE = frozenset({JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.SCHEDULED})
MOVABLE = frozenset({JobStatus.DISPATCHED, JobStatus.SCHEDULED})
RESCHEDULE_MARK = "customer_reschedule"
ETA_SPREAD = timedelta(minutes=30)


def own_job(session: Session, who: CustomerPrincipal, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    """The customer's job, or 404 exactly as for an id that does not exist."""
    query = select(Job).where(Job.id == job_id).options(*jobs.JOB_LOADS, selectinload(Job.events))
    if lock:
        query = query.with_for_update(of=Job)
    job = session.scalars(query).one_or_none()
    if job is None or job.customer_id != who.customer_id:
        raise NotFound(N_("job {id} does not exist"), params={"id": job_id})
    return job


# --- report a fault -----------------------------------------------------------------------------


def report_fault(uow: UnitOfWork, who: CustomerPrincipal, *, unit_id: uuid.UUID, type: JobType,
                 description: str, radius_km: float, tz: str, window_start: datetime | None = None,
                 window_end: datetime | None = None, address: str = "", location: dict | None = None) -> Job:
    """Open a repair or maintenance job for one of the customer's units; it goes through the
    normal intake (dispatch to the authorised point, SLA, warranty decision)."""
    if type not in (JobType.REPAIR, JobType.MAINTENANCE):
        raise ValidationFailed("type", N_("a customer reports a repair or a maintenance"))
    if not description.strip():
        raise ValidationFailed("description", N_("describe the fault"))
    if window_start is not None and window_start < utcnow():
        raise ValidationFailed("window_start", N_("the preferred window has passed"))
    with uow:
        unit = own_unit(uow.session, who, unit_id)
        serial = unit.serial
    job = intake.create_job(uow, SYSTEM, type=type, radius_km=radius_km, tz=tz, customer_id=who.customer_id,
                            unit_serial=serial, address=address, location=location, description=description.strip(),
                            window_start=window_start, window_end=window_end)
    with uow:
        return own_job(uow.session, who, job.id)


# --- follow the visit ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    job: Job
    on_the_way: bool
    eta_start: datetime | None
    eta_end: datetime | None
    technician_name: str | None
    technician_photo_url: str | None
    technician_badge: str | None
    reschedules_left: int
    can_cancel: bool
    can_reschedule: bool


def _reschedules(job: Job) -> int:
    return sum(1 for e in job.events if (e.data or {}).get(RESCHEDULE_MARK))


def _notice_ok(job: Job, hours: int, now: datetime) -> bool:
    return job.scheduled_start is None or job.scheduled_start - now >= timedelta(hours=hours)


def point_rules(session: Session, job: Job) -> slots.CustomerRules:
    point = job.service_point or (session.get(ServicePoint, job.service_point_id) if job.service_point_id else None)
    return slots.rules_of(point)


def check_cancel(job: Job, rules: slots.CustomerRules, now: datetime) -> None:
    """409 once the work started; 422 inside the point's cancel notice of a booked visit."""
    if job.status not in CANCELLABLE:
        raise Conflict(N_("the visit is {status}; it can no longer be cancelled here, call the point"),
                       params={"status": job.status.value}, current=job.status.value)
    if not _notice_ok(job, rules.cancel_notice_hours, now):
        raise RuleViolation(N_("a booked visit is cancelled at least {hours} hours ahead; call the point"),
                            params={"hours": rules.cancel_notice_hours}, reason="too-late")


def check_move(job: Job, rules: slots.CustomerRules, now: datetime) -> None:
    """409 once the visit cannot move; 422 past the point's number of changes or inside its notice."""
    if job.status not in MOVABLE:
        raise Conflict(N_("the visit is {status}; it can no longer be moved here, call the point"),
                       params={"status": job.status.value}, current=job.status.value)
    if _reschedules(job) >= rules.max_reschedules:
        raise RuleViolation(N_("this visit was moved {count} times already; call the point"),
                            params={"count": rules.max_reschedules}, reason="too-many-changes")
    if not _notice_ok(job, rules.reschedule_notice_hours, now):
        raise RuleViolation(N_("a booked visit is moved at least {hours} hours ahead; call the point"),
                            params={"hours": rules.reschedule_notice_hours}, reason="too-late")


def mark_reschedule(session: Session, job: Job, *, window_start: datetime, window_end: datetime,
                    apply=None) -> None:
    """Note on the job that the customer moved it (what counts against the point's rule)."""
    mark: dict[str, Any] = {RESCHEDULE_MARK: True, "window_start": window_start.isoformat(),
                            "window_end": window_end.isoformat()}
    jobs.record_note(session, job, SYSTEM, reason="the customer asked for another window", data=mark, apply=apply)


def as_visit(session: Session, job: Job) -> Visit:
    now = utcnow()
    rules = point_rules(session, job)
    left = max(0, rules.max_reschedules - _reschedules(job))
    technician = job.technician if job.status not in (JobStatus.CANCELLED,) else None
    eta_start = eta_end = None
    if job.scheduled_start is not None and job.status in (JobStatus.SCHEDULED, JobStatus.EN_ROUTE):
        centre = max(job.scheduled_start, now) if job.status == JobStatus.EN_ROUTE else job.scheduled_start
        eta_start, eta_end = centre - ETA_SPREAD, centre + ETA_SPREAD
    return Visit(
        job=job, on_the_way=job.status == JobStatus.EN_ROUTE, eta_start=eta_start, eta_end=eta_end,
        technician_name=technician.name if technician else None,
        technician_photo_url=(technician.photo_url or None) if technician else None,
        technician_badge=technician.badge if technician else None, reschedules_left=left,
        can_cancel=job.status in CANCELLABLE and _notice_ok(job, rules.cancel_notice_hours, now),
        can_reschedule=job.status in MOVABLE and left > 0 and _notice_ok(job, rules.reschedule_notice_hours, now),
    )


def list_visits(uow: UnitOfWork, who: CustomerPrincipal, *, offset: int = 0, limit: int = 50) -> tuple[list[Visit], int]:
    with uow:
        query = select(Job).where(Job.customer_id == who.customer_id)
        total = uow.session.scalar(select(func.count()).select_from(query.subquery()))
        items = uow.session.scalars(query.options(*jobs.JOB_LOADS, selectinload(Job.events))
                                    .order_by(Job.reported_at.desc(), Job.id).offset(offset).limit(limit)).all()
        return [as_visit(uow.session, j) for j in items], total


def get_visit(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID) -> Visit:
    with uow:
        return as_visit(uow.session, own_job(uow.session, who, job_id))


def cancel_visit(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, reason: str) -> Visit:
    """Cancel before the work starts and at least the point's notice before a booked slot."""
    with uow:
        job = own_job(uow.session, who, job_id, lock=True)
        check_cancel(job, point_rules(uow.session, job), utcnow())
        jobs.apply_transition(uow.session, job, JobStatus.CANCELLED, SYSTEM,
                              reason=f"cancelled by the customer: {reason.strip() or '-'}")
        uow.commit()
        return as_visit(uow.session, job)


def reschedule_visit(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, window_start: datetime,
                     window_end: datetime) -> Visit:
    """Ask for another window: a booked slot is released and the point plans the job again in the
    new window. Within the point's notice and its number of changes per visit."""
    now = utcnow()
    if window_end <= window_start:
        raise ValidationFailed("window_end", N_("must be after window_start"))
    if window_start < now:
        raise ValidationFailed("window_start", N_("the preferred window has passed"))
    with uow:
        session = uow.session
        job = own_job(session, who, job_id, lock=True)
        check_move(job, point_rules(session, job), now)

        def new_window() -> None:
            job.window_start, job.window_end = window_start, window_end

        if job.status == JobStatus.SCHEDULED:
            jobs.apply_transition(session, job, JobStatus.DISPATCHED, SYSTEM, reason="the customer asked for another time")
        mark_reschedule(session, job, window_start=window_start, window_end=window_end, apply=new_window)
        uow.commit()
        return as_visit(session, job)


# --- the bill -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerBill:
    job: Job
    bill: Any  # dispatch.stock.rules.Bill
    confirmation: BillConfirmation | None
    signed_on_site: bool


def _signed_on_site(session: Session, job_id: uuid.UUID) -> bool:
    """Did the SOP checklist collect the customer's signature at the visit?"""
    return session.scalar(
        select(func.count()).select_from(StepResult)
        .join(Checklist, Checklist.id == StepResult.checklist_id)
        .join(SopStep, (SopStep.version_id == Checklist.template_version_id) & (SopStep.key == StepResult.step_key))
        .where(Checklist.job_id == job_id, SopStep.kind == StepKind.SIGNATURE)) > 0


def _bill(session: Session, job: Job) -> CustomerBill:
    if job.status not in (JobStatus.COMPLETED, JobStatus.CLOSED):
        raise Conflict(N_("the bill is ready once the visit is completed"), current=job.status.value)
    confirmation = session.scalar(select(BillConfirmation).where(BillConfirmation.job_id == job.id))
    return CustomerBill(job=job, bill=billing.compute(session, job).bill, confirmation=confirmation,
                        signed_on_site=_signed_on_site(session, job.id))


def get_bill(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID) -> CustomerBill:
    with uow:
        return _bill(uow.session, own_job(uow.session, who, job_id))


def confirm_bill(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, store: EvidenceStore,
                 total: Decimal, signer_name: str | None = None, signature: bytes | None = None) -> CustomerBill:
    """The customer confirms the bill they were shown (``total`` must match: a bill that changed
    since is 409) and signs it unless they signed on site."""
    with uow:
        session = uow.session
        job = own_job(session, who, job_id, lock=True)
        current = _bill(session, job)
        if current.confirmation is not None:
            raise Conflict(N_("you confirmed this bill already"))
        if Decimal(total) != current.bill.total:
            raise Conflict(N_("the bill changed since you saw it; look at it again"), total=str(current.bill.total))
        if not current.signed_on_site and (not signer_name or not signer_name.strip() or not signature):
            raise ValidationFailed("signature", N_("sign the bill: your name and the image of your signature"))
        signature_sha = None
        if signature:
            signature_sha = hashlib.sha256(signature).hexdigest()
            store.put(signature_sha, signature)
        lines = [{"kind": line.kind, "sku": line.sku, "description": line.description, "quantity": line.quantity,
                  "list_unit_price": str(line.list_unit_price), "unit_price": str(line.unit_price),
                  "covered": line.covered, "amount": str(line.amount)} for line in current.bill.lines]
        session.add(BillConfirmation(job_id=job.id, customer_id=who.customer_id, total=current.bill.total,
                                     currency=current.bill.currency, lines=lines,
                                     signer_name=(signer_name or "").strip() or None, signature_sha256=signature_sha,
                                     signed_on_site=current.signed_on_site, confirmed_at=utcnow()))
        jobs.record_note(session, job, SYSTEM, reason="the customer confirmed the bill",
                         data={"bill_confirmed": True, "total": str(current.bill.total)})
        uow.commit()
        return _bill(session, job)


# --- ratings and complaints ---------------------------------------------------------------------


def rate_visit(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, score: int, comment: str = ""):
    return feedback.rate_own_visit(uow, who.customer_id, job_id, score=score, comment=comment)


def file_complaint(uow: UnitOfWork, who: CustomerPrincipal, *, category: ComplaintCategory, summary: str,
                   description: str = "", unit_id: uuid.UUID | None = None,
                   job_id: uuid.UUID | None = None) -> Complaint:
    if not summary.strip():
        raise ValidationFailed("summary", N_("say in a few words what went wrong"))
    with uow:
        if unit_id is not None:
            own_unit(uow.session, who, unit_id)
        if job_id is not None:
            own_job(uow.session, who, job_id)
    return care_complaints.create_complaint(uow, SYSTEM, category=category, customer_id=who.customer_id,
                                            summary=summary, description=description, unit_id=unit_id,
                                            job_id=job_id, intake_note="filed by the customer in their account",
                                            channel=ComplaintChannel.ONLINE)


def list_complaints(uow: UnitOfWork, who: CustomerPrincipal, *, offset: int = 0,
                    limit: int = 50) -> tuple[list[Complaint], int]:
    return care_complaints.list_complaints(uow, SYSTEM, customer_id=who.customer_id, offset=offset, limit=limit)


def get_complaint(uow: UnitOfWork, who: CustomerPrincipal, complaint_id: uuid.UUID) -> Complaint:
    with uow:
        complaint = uow.session.get(Complaint, complaint_id)
        if complaint is None or complaint.customer_id != who.customer_id:
            raise NotFound(N_("complaint {id} does not exist"), params={"id": complaint_id})
    return care_complaints.get_complaint(uow, SYSTEM, complaint_id)


def answer_complaint_proposal(uow: UnitOfWork, who: CustomerPrincipal, complaint_id: uuid.UUID, *, accepted: bool,
                              note: str = "") -> Complaint:
    return complaint_answers.answer_proposal(uow, SYSTEM, complaint_id, accepted=accepted, note=note,
                                             customer_id=who.customer_id)


def rate_complaint_handling(uow: UnitOfWork, who: CustomerPrincipal, complaint_id: uuid.UUID, *, score: int,
                            comment: str = "") -> Complaint:
    return complaint_answers.record_satisfaction(uow, SYSTEM, complaint_id, score=score, comment=comment,
                                                 customer_id=who.customer_id)
