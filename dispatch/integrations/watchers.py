"""What other domains' changes mean to an integrator: each watcher reads one flushed object's
history and returns the events it makes (installed by :mod:`dispatch.wiring`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect

from dispatch.audits.models import Audit
from dispatch.care.models import Complaint
from dispatch.integrations.enums import EventType
from dispatch.integrations.outbox import Event, changed_to, job_key
from dispatch.sop.enums import ChecklistStatus
from dispatch.sop.models import Checklist
from dispatch.stock.enums import ClaimStatus
from dispatch.stock.models import StockLevel, WarrantyClaim
from dispatch.stock.rules import is_low


def checklist_completed(checklist: Checklist, new: bool) -> Iterable[Event]:
    changed, _ = changed_to(checklist, "status")
    if changed and checklist.status == ChecklistStatus.COMPLETED:
        yield Event(EventType.CHECKLIST_COMPLETED, {
            "checklist_id": checklist.id, "job_id": checklist.job_id, "service_point_id": checklist.service_point_id,
            "technician_id": checklist.technician_id, "status": checklist.status}, job_key(checklist.job_id))


def audit_verdict(audit: Audit, new: bool) -> Iterable[Event]:
    changed, _ = changed_to(audit, "verdict")
    if changed and audit.verdict is not None:
        yield Event(EventType.AUDIT_VERDICT, {
            "audit_id": audit.id, "job_id": audit.job_id, "checklist_id": audit.checklist_id,
            "service_point_id": audit.service_point_id, "technician_id": audit.technician_id,
            "verdict": audit.verdict, "status": audit.status, "verdict_at": audit.verdict_at}, job_key(audit.job_id))


def _before(level: StockLevel, attribute: str) -> Any:
    history = inspect(level).attrs[attribute].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else getattr(level, attribute)


def stock_below_minimum(level: StockLevel, new: bool) -> Iterable[Event]:
    if not level.low_stock:
        return
    if not new:
        was = (_before(level, "on_hand") or 0) - (_before(level, "reserved") or 0) + (_before(level, "in_transit") or 0)
        if is_low(was, _before(level, "min_level")):
            return  # already below: reported when it fell
    yield Event(EventType.STOCK_BELOW_MINIMUM, {
        "location_id": level.location_id, "part_id": level.part_id, "on_hand": level.on_hand,
        "reserved": level.reserved, "in_transit": level.in_transit, "available": level.available,
        "min_level": level.min_level}, f"stock:{level.location_id}:{level.part_id}")


def claim_decided(claim: WarrantyClaim, new: bool) -> Iterable[Event]:
    changed, _ = changed_to(claim, "status")
    if changed and claim.status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        yield Event(EventType.CLAIM_DECIDED, {
            "claim_id": claim.id, "job_id": claim.job_id, "service_point_id": claim.service_point_id,
            "status": claim.status, "amount": claim.amount, "currency": claim.currency,
            "rejection_code": claim.rejection_code, "decided_at": claim.decided_at}, job_key(claim.job_id))


def _complaint_data(complaint: Complaint) -> dict[str, Any]:
    return {"complaint_id": complaint.id, "reference": complaint.reference, "category": complaint.category,
            "status": complaint.status, "job_id": complaint.job_id, "service_point_id": complaint.service_point_id,
            "customer_id": complaint.customer_id, "due_at": complaint.due_at, "escalated_at": complaint.escalated_at}


def complaint_opened_or_escalated(complaint: Complaint, new: bool) -> Iterable[Event]:
    key = job_key(complaint.job_id) or f"complaint:{complaint.id}"
    if new:
        yield Event(EventType.COMPLAINT_OPENED, _complaint_data(complaint), key)
    changed, before = changed_to(complaint, "escalated_at")
    if changed and before is None and complaint.escalated_at is not None:
        yield Event(EventType.COMPLAINT_ESCALATED, _complaint_data(complaint), key)

