"""Demo care data: the complaint deadline table, a maintenance plan for every activated unit whose
model needs maintenance, and a handful of complaints in every state of their flow (one overdue and
not yet escalated, so the first hourly run of the escalation task has something to do).

Complaints about finished jobs (after-sales) come with the job history in ``seeds.history``.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.care import maintenance, rules
from dispatch.care.models import (
    Complaint,
    ComplaintCategory,
    ComplaintDeadline,
    ComplaintEvent,
    ComplaintStatus,
)
from dispatch.clock import utcnow
from dispatch.network.models import Unit
from seeds import SeedContext

S = ComplaintStatus
FLOW = [S.RECEIVED, S.CLASSIFIED, S.INVESTIGATING, S.SOLUTION_PROPOSED, S.RESOLVED, S.CLOSED]

# reference, category, status reached, received hours ago, escalated, summary
COMPLAINTS = [
    ("CP-DEMO-001", ComplaintCategory.DELIVERY, S.RECEIVED, 3, False, "Heater delivered two days late"),
    ("CP-DEMO-002", ComplaintCategory.ORDER, S.CLASSIFIED, 10, False, "Ordered RO-800, received RO-500"),
    ("CP-DEMO-003", ComplaintCategory.ACCOUNT_PAYMENT, S.INVESTIGATING, 30, False,
     "Charged twice for the filter subscription"),
    ("CP-DEMO-004", ComplaintCategory.PRODUCT_QUALITY, S.SOLUTION_PROPOSED, 60, False,
     "Purifier housing cracked after three months"),
    ("CP-DEMO-005", ComplaintCategory.PRODUCT_QUALITY, S.INVESTIGATING, 100, True,
     "Display shows error E3 again and again"),
    ("CP-DEMO-006", ComplaintCategory.DELIVERY, S.CLOSED, 200, False, "Courier left the box in the rain"),
]


def _seed_deadlines(session) -> int:
    existing = set(session.scalars(select(ComplaintDeadline.category)))
    missing = [c for c in ComplaintCategory if c not in existing]
    session.add_all(ComplaintDeadline(category=c, resolve_within_hours=rules.DEFAULT_RESOLVE_HOURS[c])
                    for c in missing)
    return len(missing)


def _seed_complaints(ctx: SeedContext) -> int:
    session = ctx.session
    existing = set(session.scalars(select(Complaint.reference).where(Complaint.reference.like("CP-DEMO-%"))))
    admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    units = session.scalars(select(Unit).where(Unit.customer_id.is_not(None)).order_by(Unit.serial)).all()
    now = utcnow()
    added = 0
    for reference, category, reached, hours_ago, escalated, summary in COMPLAINTS:
        if reference in existing or not units:
            continue
        rng = random.Random(reference)
        unit = rng.choice(units)
        received = now - timedelta(hours=hours_ago)
        hours = rules.DEFAULT_RESOLVE_HOURS[category]
        complaint = Complaint(
            reference=reference, category=category, status=reached, customer_id=unit.customer_id,
            unit_id=unit.id if category == ComplaintCategory.PRODUCT_QUALITY else None, summary=summary,
            description=f"Customer called the hotline: {summary.lower()}.", received_at=received,
            due_at=rules.complaint_due_at(received, hours), created_by=admin_id,
        )
        steps = FLOW[: FLOW.index(reached) + 1]
        for index, status in enumerate(steps):
            at = received + (now - received) * index / (len(steps) + 1)
            complaint.events.append(ComplaintEvent(
                kind="received" if index == 0 else "transition", from_status=steps[index - 1] if index else None,
                to_status=status, note="" if status not in rules.NOTE_REQUIRED else "Replacement unit offered",
                actor_id=admin_id, at=at))
            if status in (S.SOLUTION_PROPOSED, S.RESOLVED):
                complaint.resolution = "Replacement unit offered"
            if status == S.RESOLVED:
                complaint.resolved_at = at
            if status == S.CLOSED:
                complaint.closed_at = at
        if escalated:
            complaint.escalated_at = complaint.due_at + timedelta(minutes=5)
            complaint.events.append(ComplaintEvent(kind="escalated", from_status=reached, to_status=reached,
                                                   note="deadline missed", at=complaint.escalated_at))
        session.add(complaint)
        added += 1
    return added


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    added = {
        "complaint_deadlines": _seed_deadlines(session),
        "maintenance_plans": maintenance.ensure_plans(session, today=ctx.today, tz=ctx.tz),
        "complaints": _seed_complaints(ctx),
    }
    return {k: v for k, v in added.items() if v}
