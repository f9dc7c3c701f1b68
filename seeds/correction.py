"""Demo corrective action: the weak point SZ02 (flagged by its spot-checks) under a corrective
plan HQ opened three days ago, due in eleven days; its manager has answered the first action
with a photo, the other two wait. Idempotent: a point with a plan is left alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import User
from dispatch.clock import utcnow
from dispatch.correction.enums import CorrectiveActionStatus, CorrectivePlanStatus
from dispatch.correction.models import CorrectiveAction, CorrectivePlan
from dispatch.correction.service import grounds_for
from dispatch.network.models import ServicePoint
from dispatch.sop.models import Attachment
from seeds import SeedContext

POINT = "SZ02"
FINDINGS = ("Four weekly lots in a row with major findings: fault photos that do not show the fault, "
            "TDS readings entered without the meter in the picture.")
ACTIONS = ("Retrain every technician on the repair SOP's evidence steps and send the attendance sheet.",
           "Have the manager check each completed checklist's photos the same day for two weeks.",
           "Replace the point's two TDS meters that read high and send their calibration certificates.")


def seed(ctx: SeedContext) -> dict[str, int]:
    session, now = ctx.session, utcnow()
    point = session.scalar(select(ServicePoint).where(ServicePoint.code == POINT))
    if point is None or session.scalar(select(CorrectivePlan.id).where(CorrectivePlan.service_point_id == point.id)):
        return {}
    grounds = grounds_for(session, point, tz=ctx.tz, now=now)
    reviewer = session.scalar(select(User.id).where(User.username == "reviewer"))
    manager = session.scalar(select(User.id).where(User.username == f"manager.{POINT.lower()}"))
    opened_at = now - timedelta(days=3)
    plan = CorrectivePlan(service_point_id=point.id, status=CorrectivePlanStatus.OPEN, findings=FINDINGS,
                          grounds=grounds or [{"code": "scorecard", "detail": {"reasons": ["demo"]}}],
                          deadline=ctx.today + timedelta(days=11), opened_by=reviewer, opened_at=opened_at,
                          actions=[CorrectiveAction(seq=i + 1, requirement=text) for i, text in enumerate(ACTIONS)],
                          items=[])
    session.add(plan)
    session.flush()
    audit_log.append(session, kind="correction.opened", subject_id=plan.id, actor_id=reviewer, payload={
        "plan_id": str(plan.id), "service_point_id": str(point.id), "code": POINT, "grounds": plan.grounds,
        "findings": FINDINGS, "actions": list(ACTIONS), "deadline": plan.deadline.isoformat()})
    photo = session.scalar(select(Attachment.id).where(Attachment.service_point_id == point.id)
                           .order_by(Attachment.id).limit(1))
    if photo is not None:
        first = plan.actions[0]
        first.status, first.answer, first.evidence = (CorrectiveActionStatus.ANSWERED, "Training held on Monday; sheet attached.",
                                                      [str(photo)])
        first.answered_by, first.answered_at = manager, opened_at + timedelta(days=2)
        audit_log.append(session, kind="correction.answered", subject_id=plan.id, actor_id=manager, payload={
            "plan_id": str(plan.id), "service_point_id": str(point.id), "action_id": str(first.id), "seq": 1,
            "answer": first.answer, "evidence": first.evidence})
    return {"corrective_plans": 1, "corrective_actions": len(ACTIONS)}
