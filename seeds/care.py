"""Demo care data: the complaint deadline table, a maintenance plan for every activated unit whose
model needs maintenance, and a handful of complaints in every state of their flow (one overdue and
not yet escalated, so the first hourly run of the escalation task has something to do).

Complaints about finished jobs (after-sales) come with the job history in ``seeds.history``.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.care import maintenance, rules
from dispatch.care import complaints as care_complaints
from dispatch.care.models import (
    CompensationTier,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintDeadline,
    ComplaintEvent,
    ComplaintOwner,
    ComplaintStatus,
    ResolutionType,
)
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
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
CHANNELS = [ComplaintChannel.PHONE, ComplaintChannel.ONLINE, ComplaintChannel.EMAIL, ComplaintChannel.WECHAT,
            ComplaintChannel.WEIBO, ComplaintChannel.PHONE]

NEAR_DEADLINE = "CP-DEMO-007"
"""An after-sales complaint about a Hangzhou visit, on the HZ01 manager's desk, 4 hours before its
time limit: the manager's worklist shows it at the top of the complaints near their deadline."""

COMPENSATION_TIERS = {60: Decimal("50.00"), 240: Decimal("100.00"), 24 * 60: Decimal("200.00")}
"""HQ's late-visit rule: minutes late against the SLA -> the compensation offered."""


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
    for (reference, category, reached, hours_ago, escalated, summary), channel in zip(COMPLAINTS, CHANNELS):
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
            due_at=rules.complaint_due_at(received, hours), created_by=admin_id, channel=channel,
            owner=ComplaintOwner.HQ,  # no point named: the call centre's
            resolution_type=ResolutionType.REPLACEMENT if FLOW.index(reached) >= 3 else None,
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
    return added + _seed_near_deadline(ctx, admin_id, existing)


NEAR_DEADLINE_COMPLAINTS = [
    # reference, hours left, about the point itself, channel, summary
    (NEAR_DEADLINE, 4, False, ComplaintChannel.WEIBO, "Posted on Weibo: the technician has not come back to finish"),
    ("CP-DEMO-008", 18, True, ComplaintChannel.EMAIL, "The point's technician was rude and smoked indoors"),
]


def _seed_near_deadline(ctx: SeedContext, admin_id, existing: set[str]) -> int:
    """HZ01's manager owns the first; HQ the second (it is about the point itself)."""
    session = ctx.session
    job = session.scalar(select(Job).where(Job.reference.like("DEMO-HZ01-%"), Job.unit_id.is_not(None))
                         .order_by(Job.reference).limit(1))
    if job is None:
        return 0
    category = ComplaintCategory.AFTER_SALES
    hours = rules.DEFAULT_RESOLVE_HOURS[category]
    added = 0
    for reference, left, about_point, channel, summary in NEAR_DEADLINE_COMPLAINTS:
        if reference in existing:
            continue
        received = utcnow() - timedelta(hours=hours - left)
        owner = rules.complaint_owner(category, job.service_point_id, about_point, False)
        complaint = Complaint(
            reference=reference, category=category, status=S.INVESTIGATING, customer_id=job.customer_id,
            unit_id=job.unit_id, job_id=job.id, service_point_id=job.service_point_id, channel=channel,
            about_point=about_point, summary=summary, received_at=received, created_by=admin_id,
            description="Picked up by the social media and e-mail desk.",
            due_at=rules.complaint_due_at(received, hours), owner=owner,
            owner_user_id=care_complaints.point_manager(session, job.service_point_id)
            if owner == ComplaintOwner.POINT else None)
        for index, status in enumerate(FLOW[:3]):
            complaint.events.append(ComplaintEvent(kind="received" if index == 0 else "transition",
                                                   from_status=FLOW[index - 1] if index else None, to_status=status,
                                                   note="", actor_id=admin_id, at=received + timedelta(hours=index)))
        session.add(complaint)
        added += 1
    return added


def _seed_compensation(session) -> int:
    if session.scalar(select(CompensationTier.min_minutes_late).limit(1)) is not None:
        return 0
    session.add_all(CompensationTier(min_minutes_late=m, amount=a) for m, a in COMPENSATION_TIERS.items())
    return len(COMPENSATION_TIERS)


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    added = {
        "complaint_deadlines": _seed_deadlines(session),
        "maintenance_plans": maintenance.ensure_plans(session, today=ctx.today, tz=ctx.tz),
        "complaints": _seed_complaints(ctx),
        "compensation_tiers": _seed_compensation(session),
    }
    return {k: v for k, v in added.items() if v}
