"""What the customer says about a complaint's handling: the answer to a proposed resolution
(accepted, or rejected back to the investigation) and the satisfaction asked after closure, from
the customer channel or taken on the phone by the complaint's owner; HQ's late-visit
compensation tiers. Every step is a complaint event and an audit-log entry."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import delete, select

from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.care.complaints import HANDLERS, READERS, _event, _load, ensure_handler, get_complaint
from dispatch.care.models import CompensationTier, Complaint, ComplaintStatus, CustomerAnswer
from dispatch.clock import utcnow
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.audit_log import service as audit_log
from dispatch.uow import UnitOfWork


def _locked(uow: UnitOfWork, actor: Principal, complaint_id: uuid.UUID,
            customer_id: uuid.UUID | None) -> Complaint:
    complaint = _load(uow.session, complaint_id, lock=True)
    if complaint is None or (customer_id is not None and complaint.customer_id != customer_id):
        raise NotFound(f"complaint {complaint_id} does not exist")
    actor.ensure_point(complaint.service_point_id, f"complaint {complaint_id}")
    return complaint


def answer_proposal(uow: UnitOfWork, actor: Principal, complaint_id: uuid.UUID, *, accepted: bool, note: str = "",
                    customer_id: uuid.UUID | None = None) -> Complaint:
    """The customer accepts the proposed resolution (the owner may then resolve it) or rejects it
    (the complaint goes back to the investigation). ``customer_id`` is the signed-in customer when
    the answer comes from the customer channel (``actor`` is then :data:`SYSTEM`)."""
    actor.require(*HANDLERS)
    note = note.strip()
    with uow:
        session = uow.session
        complaint = _locked(uow, actor, complaint_id, customer_id)
        if customer_id is None:
            ensure_handler(actor, complaint)
        if complaint.status != ComplaintStatus.SOLUTION_PROPOSED or complaint.customer_answer is not None:
            raise Conflict(f"complaint {complaint.reference} has no proposal waiting for an answer",
                           current=complaint.status.value)
        now = utcnow()
        complaint.customer_answer = CustomerAnswer.ACCEPTED if accepted else CustomerAnswer.REJECTED
        complaint.customer_answered_at = now
        previous = complaint.status
        if not accepted:
            complaint.status = ComplaintStatus.INVESTIGATING
        who = "the customer in their account" if customer_id is not None else "the customer on the phone"
        _event(session, complaint, actor, kind="accepted" if accepted else "rejected", at=now,
               from_status=previous, to_status=complaint.status, note=f"{who}: {note}".rstrip(": "))
        uow.commit()
        return get_complaint(uow, SYSTEM, complaint.id)


def record_satisfaction(uow: UnitOfWork, actor: Principal, complaint_id: uuid.UUID, *, score: int,
                        comment: str = "", customer_id: uuid.UUID | None = None) -> Complaint:
    """The customer's satisfaction (1-5) with the handling of a closed complaint, once."""
    actor.require(*HANDLERS)
    if not 1 <= score <= 5:
        raise ValidationFailed("score", "between 1 and 5")
    with uow:
        session = uow.session
        complaint = _locked(uow, actor, complaint_id, customer_id)
        if complaint.status != ComplaintStatus.CLOSED:
            raise Conflict(f"complaint {complaint.reference} is {complaint.status.value}; satisfaction is asked "
                           "after closure", current=complaint.status.value)
        if complaint.satisfaction_at is not None:
            raise Conflict(f"complaint {complaint.reference}: the customer's satisfaction is recorded already",
                           current=complaint.status.value)
        now = utcnow()
        complaint.satisfaction_score, complaint.satisfaction_comment = score, comment.strip()
        complaint.satisfaction_at = now
        _event(session, complaint, actor, kind="satisfaction", at=now, from_status=complaint.status,
               to_status=complaint.status, note=f"{score}/5 {comment.strip()}".strip())
        uow.commit()
        return get_complaint(uow, SYSTEM, complaint.id)


def list_compensation_tiers(uow: UnitOfWork, actor: Principal) -> list[CompensationTier]:
    actor.require(*READERS)
    with uow:
        return list(uow.session.scalars(select(CompensationTier).order_by(CompensationTier.min_minutes_late)))


def set_compensation_tiers(uow: UnitOfWork, actor: Principal, tiers: list[dict[str, object]]) -> list[CompensationTier]:
    """HQ replaces the late-visit compensation rule: each tier is (minutes late from, amount); the
    amounts must grow with the lateness. An empty list withdraws the offer."""
    actor.require(Role.ADMIN)
    ordered = sorted(tiers, key=lambda t: t["min_minutes_late"])
    minutes = [t["min_minutes_late"] for t in ordered]
    if len(set(minutes)) != len(minutes):
        raise ValidationFailed("tiers", "two tiers start at the same lateness")
    amounts: list[Decimal] = [Decimal(str(t["amount"])) for t in ordered]
    if any(b <= a for a, b in zip(amounts, amounts[1:])):
        raise ValidationFailed("tiers", "a later tier must offer more than an earlier one")
    with uow:
        session = uow.session
        session.execute(delete(CompensationTier))
        rows = [CompensationTier(min_minutes_late=m, amount=a, updated_at=utcnow(), updated_by=actor.user_id)
                for m, a in zip(minutes, amounts)]
        session.add_all(rows)
        audit_log.append(session, kind="complaint.compensation_tiers", subject_id="compensation_tiers",
                         payload={"tiers": [{"min_minutes_late": m, "amount": str(a)}
                                            for m, a in zip(minutes, amounts)]},
                         actor_id=actor.user_id)
        uow.commit()
        return rows
