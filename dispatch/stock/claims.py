"""Warranty claims: a point asks HQ to pay for parts it fitted free under warranty.

A claim is filed when a warranty-covered part is consumed on a job whose parts the warranty
covers; the automatic checks (``rules.check_claim``) reject it at once, with the reason, when the
unit was never activated, was out of warranty on the job date, or the part does not fit its model.
Claims that pass wait for HQ's decision.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select
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
from dispatch.stock import rules
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import ClaimStatus, Part, PartFit, PartUsage, WarrantyClaim
from dispatch.stock.rules import ClaimRejection
from dispatch.uow import UnitOfWork


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
    )


def file_claim(session: Session, job: Job, usage: PartUsage, part: Part,
               tz: ZoneInfo | str | None = None) -> WarrantyClaim | None:
    """File the claim for a part fitted on a job whose parts the warranty covers (no commit).

    Returns None when no claim is due: the job is chargeable, or the part is not a warranty
    item (consumables such as filters are billed to the customer).
    """
    if not job.parts_covered or not part.warranty_covered or job.service_point_id is None:
        return None
    check = rules.check_claim(claim_facts(session, job, part, tz))
    now = utcnow()
    claim = WarrantyClaim(
        job_id=job.id, usage_id=usage.id, service_point_id=job.service_point_id, part_id=part.id,
        unit_id=job.unit_id, quantity=usage.quantity, unit_price=usage.list_price,
        amount=rules.money(usage.list_price * usage.quantity), currency=usage.currency, job_date=job.reported_at,
        status=ClaimStatus.SUBMITTED if check.passed else ClaimStatus.REJECTED,
        rejection_code=check.rejection, rejection_detail=check.detail,
        decided_at=None if check.passed else now,
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
    """HQ approves or rejects a claim that passed the automatic checks (once)."""
    actor.require(Role.ADMIN)
    if not approve and not reason.strip():
        raise ValidationFailed("reason", "say why the claim is rejected")
    with uow:
        claim = _get(uow.session, actor, claim_id, for_update=True)
        if expected_version is not None and claim.version != expected_version:
            raise PreconditionFailed("the claim changed since it was read")
        if claim.status != ClaimStatus.SUBMITTED:
            raise Conflict(f"claim {claim.id} was already {claim.status.value}", claim_status=claim.status.value)
        claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
        if not approve:
            claim.rejection_code, claim.rejection_detail = ClaimRejection.HQ_DECISION, reason.strip()
        claim.decided_at, claim.decided_by = utcnow(), actor_id_of(actor)
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.claim_decision", subject_id=claim.id, actor_id=actor_id_of(actor),
                         seal=[claim], payload={"status": claim.status.value, "reason": reason.strip()})
        uow.commit()
    return claim
