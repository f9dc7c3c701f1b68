"""Warranty claims: a point asks HQ to pay for parts it fitted free under warranty.

A claim is filed when a warranty-covered part is consumed on a job whose parts the warranty
covers, and checks itself (``rules.claim_checks``; each claim keeps every check it passed and
failed):

- rejected at once, with the reason, when the unit was never activated, was out of warranty on the
  job date, or the part does not fit its model; later, when the repair's fault cause turns out to
  be misuse or an outside cause (``reject_for_fault``, called by the warranty domain);
- held for HQ's review when the same unit and part were claimed within the policy's window;
- approved only once the old part's defective return has been received at HQ, or HQ waived the
  return on photo evidence.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from dispatch import clock
from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from dispatch.jobs.models import Job
from dispatch.network import rules as network_rules
from dispatch.sop.models import Attachment
from dispatch.stock import ledger, locations, rules
from dispatch.stock.ledger import Delta, actor_id_of
from dispatch.stock.models import ClaimPolicy, ClaimStatus, MovementKind, Part, PartFit, PartUsage, WarrantyClaim
from dispatch.stock.rules import ClaimRejection
from dispatch.uow import UnitOfWork

DEFAULT_REPEAT_WINDOW_DAYS = 90
OPEN = (ClaimStatus.SUBMITTED, ClaimStatus.HELD)
"""Claims waiting for HQ."""


class DefectiveReturnMissing(Conflict):
    code = "defective-return-missing"
    title = "The old part has not come back"


def policy(session: Session) -> ClaimPolicy:
    """HQ's claim settings (the defaults until HQ sets them)."""
    return session.get(ClaimPolicy, 1) or ClaimPolicy(id=1, repeat_window_days=DEFAULT_REPEAT_WINDOW_DAYS)


def get_policy(uow: UnitOfWork, actor: Principal) -> ClaimPolicy:
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        return policy(uow.session)


def set_policy(uow: UnitOfWork, actor: Principal, *, repeat_window_days: int) -> ClaimPolicy:
    """HQ sets how far back a claim for the same unit and part makes a new one a repeat."""
    actor.require(Role.ADMIN)
    if not 0 <= repeat_window_days <= 3650:
        raise ValidationFailed("repeat_window_days", "must be between 0 and 3650 days")
    with uow:
        row = uow.session.get(ClaimPolicy, 1, with_for_update=True)
        if row is None:
            row = ClaimPolicy(id=1)
            uow.session.add(row)
        before = row.repeat_window_days
        row.repeat_window_days, row.updated_at, row.updated_by = repeat_window_days, utcnow(), actor_id_of(actor)
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.claim_policy", subject_id=None, actor_id=actor_id_of(actor),
                         payload={"repeat_window_days": repeat_window_days, "before": before})
        uow.commit()
        return row


def _previous_claim_on(session: Session, job: Job, part: Part, zone: ZoneInfo):
    """The job date of the latest earlier claim (not rejected) for the job's unit and part."""
    latest = session.scalar(select(func.max(WarrantyClaim.job_date)).where(
        WarrantyClaim.unit_id == job.unit_id, WarrantyClaim.part_id == part.id, WarrantyClaim.job_id != job.id,
        WarrantyClaim.status != ClaimStatus.REJECTED, WarrantyClaim.job_date <= job.reported_at))
    return latest.astimezone(zone).date() if latest is not None else None


def claim_facts(session: Session, job: Job, part: Part, tz: ZoneInfo | str | None = None) -> rules.ClaimFacts:
    """What the automatic check needs, read from the job's unit and the catalogue."""
    job_date = job.reported_at.astimezone(clock.zone(tz)).date()
    unit = job.unit
    if unit is None:
        return rules.ClaimFacts(job_date=job_date, part_sku=part.sku, has_unit=False)
    fits = session.scalar(select(PartFit.part_id).where(PartFit.part_id == part.id,
                                                        PartFit.product_id == unit.product_id)) is not None
    return rules.ClaimFacts(
        job_date=job_date, part_sku=part.sku, has_unit=True, activated=unit.activated_at is not None,
        purchased_on=unit.purchased_on, warranty_until=network_rules.warranty_until(unit),
        product_sku=unit.product.sku, part_fits=fits,
        previous_claim_on=_previous_claim_on(session, job, part, clock.zone(tz)),
        repeat_window_days=policy(session).repeat_window_days,
    )


def file_claim(session: Session, job: Job, usage: PartUsage, part: Part,
               tz: ZoneInfo | str | None = None) -> WarrantyClaim | None:
    """File the claim for a part fitted on a job whose parts the warranty covers (no commit).

    Returns None when no claim is due: the job is chargeable, or the part is not a warranty
    item (consumables such as filters are billed to the customer).
    """
    if not job.parts_covered or not part.warranty_covered or job.service_point_id is None:
        return None
    results, check, held = rules.claim_checks(claim_facts(session, job, part, tz))
    now = utcnow()
    status = ClaimStatus.REJECTED if not check.passed else ClaimStatus.HELD if held else ClaimStatus.SUBMITTED
    claim = WarrantyClaim(
        job_id=job.id, usage_id=usage.id, service_point_id=job.service_point_id, part_id=part.id,
        unit_id=job.unit_id, quantity=usage.quantity, unit_price=usage.list_price,
        amount=rules.money(usage.list_price * usage.quantity), currency=usage.currency, job_date=job.reported_at,
        status=status, rejection_code=check.rejection, rejection_detail=check.detail,
        decided_at=None if check.passed else now, checks=[r.as_dict() for r in results],
    )
    session.add(claim)
    session.flush()
    audit_log.append(session, kind="stock.claim", subject_id=claim.id, actor_id=None, seal=[claim], payload={
        "job_id": job.id, "usage_id": usage.id, "part_id": part.id, "quantity": usage.quantity,
        "amount": str(claim.amount), "status": claim.status.value,
        "rejection_code": check.rejection.value if check.rejection else None})
    return claim


def _visible(actor: Principal, query):
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    if not actor.is_hq:
        query = query.where(WarrantyClaim.service_point_id == actor.service_point_id)
    return query


def list_claims(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, status: ClaimStatus | None = None,
                service_point_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None,
                rejection_code: ClaimRejection | None = None) -> tuple[list[WarrantyClaim], int]:
    """HQ sees every claim; a manager their own point's; technicians none (403)."""
    with uow:
        query = _visible(actor, select(WarrantyClaim).options(joinedload(WarrantyClaim.part)))
        if status is not None:
            query = query.where(WarrantyClaim.status == status)
        if service_point_id is not None:
            query = query.where(WarrantyClaim.service_point_id == service_point_id)
        if job_id is not None:
            query = query.where(WarrantyClaim.job_id == job_id)
        if rejection_code is not None:
            query = query.where(WarrantyClaim.rejection_code == rejection_code)
        return page(uow.session, query.order_by(WarrantyClaim.created_at.desc(), WarrantyClaim.id),
                    offset=offset, limit=limit)


def _get(session: Session, actor: Principal, claim_id: uuid.UUID, *, for_update: bool = False) -> WarrantyClaim:
    query = _visible(actor, select(WarrantyClaim).options(joinedload(WarrantyClaim.part))
                     .where(WarrantyClaim.id == claim_id))
    if for_update:
        query = query.with_for_update(of=WarrantyClaim)
    claim = session.scalar(query)
    if claim is None:
        raise NotFound(f"claim {claim_id} does not exist")
    return claim


def get_claim(uow: UnitOfWork, actor: Principal, claim_id: uuid.UUID) -> WarrantyClaim:
    with uow:
        return _get(uow.session, actor, claim_id)


def decide_claim(uow: UnitOfWork, actor: Principal, claim_id: uuid.UUID, *, approve: bool, reason: str = "",
                 expected_version: int | None = None) -> WarrantyClaim:
    """HQ approves or rejects a claim that passed the automatic checks, or was held for review (once).
    Approval needs the old part back at HQ (or HQ's photo waiver)."""
    actor.require(Role.ADMIN)
    if not approve and not reason.strip():
        raise ValidationFailed("reason", "say why the claim is rejected")
    with uow:
        claim = _get(uow.session, actor, claim_id, for_update=True)
        if expected_version is not None and claim.version != expected_version:
            raise PreconditionFailed("the claim changed since it was read")
        if claim.status not in OPEN:
            raise Conflict(f"claim {claim.id} was already {claim.status.value}", claim_status=claim.status.value)
        if approve and not claim.part_returned:
            raise DefectiveReturnMissing(f"claim {claim.id} cannot be approved before the old part's defective return "
                                         "is received at HQ, or HQ waives it on photo evidence")
        claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
        if not approve:
            claim.rejection_code, claim.rejection_detail = ClaimRejection.HQ_DECISION, reason.strip()
        claim.decided_at, claim.decided_by = utcnow(), actor_id_of(actor)
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.claim_decision", subject_id=claim.id, actor_id=actor_id_of(actor),
                         seal=[claim], payload={"status": claim.status.value, "reason": reason.strip()})
        uow.commit()
    return claim


# --- the old part's return, and checks that follow the repair's fault cause --------------------


def _open_claim(session: Session, actor: Principal, claim_id: uuid.UUID) -> WarrantyClaim:
    claim = _get(session, actor, claim_id, for_update=True)
    if claim.status not in OPEN:
        raise Conflict(f"claim {claim.id} is {claim.status.value}", claim_status=claim.status.value)
    if claim.part_returned:
        raise Conflict(f"the old part of claim {claim.id} is accounted for already")
    return claim


def receive_return(uow: UnitOfWork, actor: Principal, claim_id: uuid.UUID, *, note: str = "") -> WarrantyClaim:
    """HQ received the old part of a claim: it goes into HQ's defective bin (a ledger movement)."""
    actor.require(Role.ADMIN)
    with uow:
        claim = _open_claim(uow.session, actor, claim_id)
        hq = locations.hq_location(uow.session)
        ledger.post(uow.session, kind=MovementKind.RETURN_DEFECTIVE, actor_id=actor_id_of(actor), subject_id=claim.id,
                    job_id=claim.job_id, reason=note.strip() or f"old part of claim {claim.id}",
                    deltas=[Delta(hq.id, claim.part_id, claim.quantity, defective=claim.quantity)])
        claim.return_received_at, claim.return_received_by = utcnow(), actor_id_of(actor)
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.claim_return", subject_id=claim.id, actor_id=actor_id_of(actor),
                         seal=[claim], payload={"received": True, "quantity": claim.quantity})
        uow.commit()
    return claim


def waive_return(uow: UnitOfWork, actor: Principal, claim_id: uuid.UUID, *, attachment_id: uuid.UUID,
                 reason: str) -> WarrantyClaim:
    """HQ accepts a photo of the old part instead of the part itself (with a reason)."""
    actor.require(Role.ADMIN)
    if not reason.strip():
        raise ValidationFailed("reason", "say why the old part need not come back")
    with uow:
        claim = _open_claim(uow.session, actor, claim_id)
        if uow.session.get(Attachment, attachment_id) is None:
            raise ValidationFailed("attachment_id", f"attachment {attachment_id} does not exist")
        claim.return_waived_at, claim.return_waived_by = utcnow(), actor_id_of(actor)
        claim.return_waiver_reason, claim.return_waiver_attachment_id = reason.strip(), attachment_id
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.claim_return", subject_id=claim.id, actor_id=actor_id_of(actor),
                         seal=[claim], payload={"waived": True, "attachment_id": attachment_id,
                                                "reason": reason.strip()})
        uow.commit()
    return claim


FAULT_CHECK = "fault_is_a_defect"


def _without_fault_check(checks: list) -> list:
    return [c for c in checks or [] if c.get("check") != FAULT_CHECK]


def reject_for_fault(session: Session, job: Job, *, detail: str, actor_id: uuid.UUID | None) -> list[WarrantyClaim]:
    """The repair's fault cause is misuse or an outside cause: the job's open claims are rejected
    with that reason (joins the caller's transaction)."""
    rejected = []
    for claim in session.scalars(select(WarrantyClaim).where(WarrantyClaim.job_id == job.id,
                                                             WarrantyClaim.status.in_(OPEN))):
        claim.status, claim.rejection_code, claim.rejection_detail = ClaimStatus.REJECTED, ClaimRejection.MISUSE, detail
        claim.decided_at, claim.decided_by = utcnow(), None
        claim.checks = [*_without_fault_check(claim.checks), {"check": FAULT_CHECK, "passed": False, "detail": detail}]
        rejected.append(claim)
    if rejected:
        session.flush()
        audit_log.append(session, kind="stock.claim_decision", subject_id=job.id, actor_id=actor_id,
                         seal=rejected, payload={"status": "rejected", "rejection_code": ClaimRejection.MISUSE.value,
                                                 "claims": [c.id for c in rejected], "reason": detail})
    return rejected


def reopen_after_fault(session: Session, job: Job, *, detail: str, actor_id: uuid.UUID | None) -> list[WarrantyClaim]:
    """The fault cause was corrected to a product defect before completion: claims rejected for
    misuse wait for HQ again (held if they were a repeat)."""
    reopened = []
    for claim in session.scalars(select(WarrantyClaim).where(WarrantyClaim.job_id == job.id,
                                                             WarrantyClaim.rejection_code == ClaimRejection.MISUSE)):
        checks = [*_without_fault_check(claim.checks), {"check": FAULT_CHECK, "passed": True, "detail": detail}]
        held = any(c.get("check") == "not_a_repeat" and c.get("passed") is False for c in checks)
        claim.status = ClaimStatus.HELD if held else ClaimStatus.SUBMITTED
        claim.rejection_code, claim.rejection_detail, claim.decided_at, claim.checks = None, "", None, checks
        reopened.append(claim)
    if reopened:
        session.flush()
        audit_log.append(session, kind="stock.claim_decision", subject_id=job.id, actor_id=actor_id,
                         seal=reopened, payload={"status": "reopened", "claims": [c.id for c in reopened],
                                                 "reason": detail})
    return reopened


def claims_of_units(session: Session, unit_ids: list[uuid.UUID]) -> list[WarrantyClaim]:
    """Every claim made for these units (for HQ's traceability reports)."""
    if not unit_ids:
        return []
    return list(session.scalars(select(WarrantyClaim).options(joinedload(WarrantyClaim.part))
                                .where(WarrantyClaim.unit_id.in_(unit_ids))
                                .order_by(WarrantyClaim.job_date, WarrantyClaim.id)))
