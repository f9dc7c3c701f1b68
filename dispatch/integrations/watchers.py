"""What other domains' changes mean to an integrator: each watcher reads one flushed object's
history and returns the events it makes (installed by :mod:`dispatch.wiring`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.orm import object_session

from dispatch.audits.models import Audit
from dispatch.care.models import Complaint
from dispatch.integrations.enums import EventType
from dispatch.integrations.outbox import Event, changed_to, job_key
from dispatch.sop.enums import ChecklistStatus
from dispatch.sop.models import Checklist
from dispatch.stock.enums import ClaimStatus
from dispatch.stock.ledger import LEVELS_AFTER
from dispatch.stock.models import StockLevel, StockMovement, WarrantyClaim
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


STOCK_NOTES = "integrations.stock_levels_before"


def _availability(session, keys) -> dict[tuple, tuple[int, int | None]]:
    rows = session.execute(select(StockLevel.location_id, StockLevel.part_id,
                                  StockLevel.on_hand - StockLevel.reserved + StockLevel.in_transit,
                                  StockLevel.min_level)
                           .where(or_(*(and_(StockLevel.location_id == location, StockLevel.part_id == part)
                                        for location, part in keys)))).all()
    return {(location, part): (available, minimum) for location, part, available, minimum in rows}


def stock_movement_noted(movement: StockMovement, new: bool) -> Iterable[Event]:
    """A movement is flushed before the ledger moves its level (a conditional UPDATE, no ORM
    change): note it under its level. :func:`stock_below_minimum` reads the levels once at commit
    and takes each level before the transaction as the level after less what its movements moved
    (the ledger's UPDATEs hold the rows, so nothing else moved them in between): no read per
    movement. A movement of a rolled-back savepoint is no longer in the session and counts for
    nothing."""
    if new:
        notes = object_session(movement).info.setdefault(STOCK_NOTES, {})
        notes.setdefault((movement.location_id, movement.part_id), []).append(movement)
    return ()


def _moved(movements: list[StockMovement]) -> int:
    return sum(m.delta_on_hand - m.delta_reserved + m.delta_in_transit for m in movements if inspect(m).persistent)


def stock_below_minimum(session) -> Iterable[Event]:
    """At commit: every level a movement of this transaction took to or below its minimum. The
    levels after come from the ledger's UPDATEs (``ledger.LEVELS_AFTER``) when each noted level
    has one and no movement of it was rolled back with a savepoint (its UPDATE may have been too);
    otherwise they are read."""
    notes = session.info.pop(STOCK_NOTES, None)
    returned = session.info.pop(LEVELS_AFTER, None) or {}
    if not notes:
        return
    if all(key in returned for key in notes) and all(
            inspect(m).persistent for movements in notes.values() for m in movements):
        after = {key: returned[key] for key in notes}
    else:
        after = _availability(session, notes)
    for key in sorted(notes, key=str):
        now, moved = after.get(key), _moved(notes[key])
        if now is None or not moved or not is_low(*now):
            continue
        if is_low(now[0] - moved, now[1]):
            continue  # already below: reported when it fell
        location, part = key
        yield Event(EventType.STOCK_BELOW_MINIMUM, {"location_id": location, "part_id": part, "available": now[0],
                                                    "min_level": now[1]}, f"stock:{location}:{part}")


def forget_stock_notes(session) -> None:
    session.info.pop(STOCK_NOTES, None)
    session.info.pop(LEVELS_AFTER, None)


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

