"""Corrective action for weak points (整改), from the flag to HQ's decision.

1. HQ (admin, reviewer) opens a plan for a point that is flagged now: by its audits' scorecard
   (:func:`dispatch.audits.scorecards.scorecard`), by SLA compliance below
   :data:`SLA_THRESHOLD`, or by more than :data:`COMPLAINTS_PER_100` complaints per 100 jobs,
   over the scorecard's period. The plan records those grounds, HQ's findings, the required
   actions and a deadline (a local day). One open plan per point.
2. The point's manager answers each action with a text and evidence (attachments uploaded at
   the point); only that manager answers, and HQ and the manager read the plan, nobody else.
3. After the deadline HQ draws the targeted re-audit: the frame is the point's checklists
   completed after the deadline's local day, the sample size is the ISO 2859-1 plan of the
   audits (:func:`dispatch.audits.sampling.plan_for`) and the sample the lowest HMAC keys under
   a fresh random seed (:func:`~dispatch.audits.sampling.derive_sample`), so it can be
   re-derived from the logged seed and frame. Reviewers give each sampled checklist a verdict.
4. An admin decides: ``close`` (only when the re-audit accepts: every verdict in, defects within
   the acceptance number, no critical), ``extend`` (a later deadline, a new re-audit round),
   ``suspend`` (the authorisation lifecycle's suspension) or ``revoke`` (revocation, the regions
   re-authorised to a successor point and the point's open jobs transferred to it with the
   reason).

Every step appends to the tamper-evident log (``correction.*``) in its own transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.audits import sampling
from dispatch.audits.lots import REVIEWERS
from dispatch.audits.sampling import LotDecision, Verdict
from dispatch.audits.scorecards import DEFAULT_PERIOD_DAYS, scorecard
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care.models import Complaint
from dispatch.clock import local_midnight, utcnow, zone
from dispatch.correction.enums import OPEN_STATUSES, CorrectiveActionStatus, Ground, CorrectiveOutcome, CorrectivePlanStatus
from dispatch.correction.models import CorrectiveAction, CorrectivePlan, ReauditItem
from dispatch.db import page
from dispatch.errors import Conflict, InvalidTransition, NotFound, RuleViolation, ValidationFailed
from dispatch.jobs import rules as job_rules
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job
from dispatch.network import service_points
from dispatch.network.models import ServicePoint
from dispatch.sop.models import Attachment, Checklist, ChecklistStatus
from dispatch.uow import UnitOfWork

SLA_THRESHOLD = 0.9  # SLA compliance below this flags a point
COMPLAINTS_PER_100 = 5.0  # more complaints per 100 jobs than this flags a point
MAX_EVIDENCE = 20


def _user(actor: Principal) -> uuid.UUID | None:
    return None if actor.user_id.int == 0 else actor.user_id


def _log(session: Session, plan: CorrectivePlan, kind: str, actor: Principal, **payload: Any) -> None:
    audit_log.append(session, kind=f"correction.{kind}", subject_id=plan.id, actor_id=_user(actor),
                     payload={"plan_id": str(plan.id), "service_point_id": str(plan.service_point_id), **payload})


# --- grounds -----------------------------------------------------------------------------------------


def grounds_for(session: Session, point: ServicePoint, *, tz: ZoneInfo, now: datetime) -> list[dict[str, Any]]:
    """Why ``point`` is flagged now (empty: it is not): its scorecard, SLA, complaint rate over the
    scorecard's default period (the last 182 local days)."""
    date_to = now.astimezone(tz).date()
    date_from = date_to - timedelta(days=DEFAULT_PERIOD_DAYS)
    card = scorecard(session, point, date_from=date_from, date_to=date_to, tz=tz, now=now)
    found: list[dict[str, Any]] = []
    if card.flagged:
        found.append({"code": Ground.SCORECARD.value, "detail": {
            "score": card.score, "band": card.band.value, "reasons": list(card.flag_reasons)}})
    if card.sla_compliance is not None and card.sla_compliance < SLA_THRESHOLD:
        found.append({"code": Ground.SLA.value, "detail": {
            "sla_compliance": card.sla_compliance, "threshold": SLA_THRESHOLD, "jobs": card.sla_jobs}})
    start, end = local_midnight(date_from, tz), local_midnight(date_to + timedelta(days=1), tz)
    jobs_count = session.scalar(select(func.count()).select_from(Job).where(
        Job.service_point_id == point.id, Job.reported_at >= start, Job.reported_at < end)) or 0
    complaints = session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.service_point_id == point.id, Complaint.received_at >= start, Complaint.received_at < end)) or 0
    if jobs_count and complaints * 100 / jobs_count > COMPLAINTS_PER_100:
        found.append({"code": Ground.COMPLAINTS.value, "detail": {
            "per_100_jobs": round(complaints * 100 / jobs_count, 2), "threshold": COMPLAINTS_PER_100,
            "complaints": complaints, "jobs": jobs_count}})
    return found


# --- reads -------------------------------------------------------------------------------------------

_DETAIL = (selectinload(CorrectivePlan.actions), selectinload(CorrectivePlan.items),
           selectinload(CorrectivePlan.service_point))


def _scope(query, actor: Principal):
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    point = actor.point_filter()
    return query if point is None else query.where(CorrectivePlan.service_point_id == point)


def list_plans(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
               service_point_id: uuid.UUID | None = None, status: CorrectivePlanStatus | None = None,
               open_only: bool = False) -> tuple[list[CorrectivePlan], int]:
    """Plans, newest first (HQ: every point; a manager: their own point's)."""
    query = _scope(select(CorrectivePlan), actor)
    if service_point_id is not None:
        query = query.where(CorrectivePlan.service_point_id == service_point_id)
    if status is not None:
        query = query.where(CorrectivePlan.status == status)
    if open_only:
        query = query.where(CorrectivePlan.status.in_(OPEN_STATUSES))
    with uow:
        return page(uow.session, query.options(*_DETAIL).order_by(CorrectivePlan.opened_at.desc(),
                                                                  CorrectivePlan.id),
                    offset=offset, limit=limit)


def _visible(session: Session, actor: Principal, plan_id: uuid.UUID, *, for_update: bool = False) -> CorrectivePlan:
    query = _scope(select(CorrectivePlan), actor).where(CorrectivePlan.id == plan_id).options(*_DETAIL)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    plan = session.scalars(query).one_or_none()
    if plan is None:
        raise NotFound(f"corrective plan {plan_id} does not exist")
    return plan


def get_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> CorrectivePlan:
    with uow:
        return _visible(uow.session, actor, plan_id)


# --- writes ------------------------------------------------------------------------------------------


def _ensure_status(plan: CorrectivePlan, *allowed: CorrectivePlanStatus, doing: str) -> None:
    if plan.status not in allowed:
        raise InvalidTransition(f"the corrective plan is {plan.status.value}; it cannot {doing}",
                                current_status=plan.status.value, allowed_from=[s.value for s in allowed])


def open_plan(uow: UnitOfWork, actor: Principal, *, service_point_id: uuid.UUID, findings: str,
              actions: list[str], deadline: date, tz: ZoneInfo | str) -> CorrectivePlan:
    """HQ opens a plan for a flagged point (422 when nothing flags it; 409 when one is open)."""
    actor.require(*REVIEWERS)
    tz, now = zone(tz), utcnow()
    if deadline <= now.astimezone(tz).date():
        raise ValidationFailed("deadline", "must be a later day than today")
    if not findings.strip():
        raise ValidationFailed("findings", "say what HQ found")
    for i, text in enumerate(actions):
        if not text.strip():
            raise ValidationFailed(f"actions.{i}", "an action needs a text")
    with uow:
        session = uow.session
        point = session.scalars(select(ServicePoint).where(ServicePoint.id == service_point_id)
                                .with_for_update()).one_or_none()
        if point is None:
            raise ValidationFailed("service_point_id", f"no service point has the id {service_point_id}")
        if session.scalar(select(CorrectivePlan.id).where(CorrectivePlan.service_point_id == point.id,
                                                          CorrectivePlan.status.in_(OPEN_STATUSES))) is not None:
            raise Conflict(f"service point {point.code} already has an open corrective plan")
        grounds = grounds_for(session, point, tz=tz, now=now)
        if not grounds:
            raise RuleViolation(f"service point {point.code} is not flagged (scorecard, SLA and complaint "
                                "rates are within bounds); a corrective plan needs grounds")
        plan = CorrectivePlan(service_point=point, status=CorrectivePlanStatus.OPEN, findings=findings.strip(),
                              grounds=grounds, deadline=deadline, opened_by=_user(actor), opened_at=now,
                              actions=[CorrectiveAction(seq=i + 1, requirement=text.strip())
                                       for i, text in enumerate(actions)], items=[])
        session.add(plan)
        session.flush()
        _log(session, plan, "opened", actor, code=point.code, grounds=grounds, findings=plan.findings,
             actions=[a.requirement for a in plan.actions], deadline=deadline.isoformat())
        uow.commit()
    return plan


def answer_action(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID, action_id: uuid.UUID, *,
                  answer: str, evidence: list[uuid.UUID]) -> CorrectivePlan:
    """The point's manager answers one action (again, until the re-audit is drawn)."""
    with uow:
        session = uow.session
        plan = _visible(session, actor, plan_id, for_update=True)
        actor.require(Role.MANAGER)
        action = next((a for a in plan.actions if a.id == action_id), None)
        if action is None:
            raise NotFound(f"corrective action {action_id} does not exist")
        _ensure_status(plan, CorrectivePlanStatus.OPEN, doing="take answers any more")
        if not answer.strip():
            raise ValidationFailed("answer", "say what the point did")
        ids = list(dict.fromkeys(evidence))
        if not ids:
            raise ValidationFailed("evidence", "attach at least one piece of evidence")
        found = dict(session.execute(select(Attachment.id, Attachment.service_point_id)
                                     .where(Attachment.id.in_(ids))).all())
        for i, attachment_id in enumerate(ids):
            if found.get(attachment_id, "missing") != plan.service_point_id:
                raise ValidationFailed(f"evidence.{i}", f"no attachment {attachment_id} was uploaded at this point")
        action.answer, action.evidence = answer.strip(), [str(i) for i in ids]
        action.status, action.answered_by, action.answered_at = CorrectiveActionStatus.ANSWERED, _user(actor), utcnow()
        plan.updated_at = utcnow()
        _log(session, plan, "answered", actor, action_id=str(action.id), seq=action.seq, answer=action.answer,
             evidence=action.evidence)
        uow.commit()
    return plan


def draw_reaudit(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID, *, tz: ZoneInfo | str) -> CorrectivePlan:
    """HQ draws the targeted re-audit from the point's checklists completed after the deadline."""
    actor.require(*REVIEWERS)
    tz, now = zone(tz), utcnow()
    with uow:
        session = uow.session
        plan = _visible(session, actor, plan_id, for_update=True)
        _ensure_status(plan, CorrectivePlanStatus.OPEN, doing="be re-audited")
        after = local_midnight(plan.deadline + timedelta(days=1), tz)
        if now < after:
            raise RuleViolation(f"the deadline ({plan.deadline.isoformat()}) has not passed yet",
                                re_audit_from=after.isoformat())
        frame = sampling.canonical_frame(session.scalars(select(Checklist.id).where(
            Checklist.service_point_id == plan.service_point_id, Checklist.status == ChecklistStatus.COMPLETED,
            Checklist.completed_at >= after, Checklist.completed_at <= now)).all())
        if not frame:
            raise Conflict("the point has completed no checklist since the deadline; nothing to re-audit yet")
        seed = secrets.token_bytes(sampling.SEED_BYTES)
        rules = sampling.plan_for(len(frame))
        ranking = sampling.derive_sample(seed, plan.id, frame, rules.sample_size)  # a fresh seed per round
        plan.reaudit_seed, plan.reaudit_frame_sha256 = seed.hex(), sampling.frame_sha256(frame)
        plan.reaudit_drawn_at, plan.frame_size, plan.sample_size = now, len(frame), rules.sample_size
        plan.accept_number, plan.reject_number = rules.accept, rules.reject
        plan.status = CorrectivePlanStatus.REAUDIT
        for item in ranking:
            if item.selected:
                plan.items.append(ReauditItem(round=plan.round, checklist_id=uuid.UUID(item.checklist_id),
                                              rank=item.rank, rank_key=item.key))
        _log(session, plan, "reaudit.drawn", actor, round=plan.round, seed=plan.reaudit_seed, frame=frame,
             frame_sha256=plan.reaudit_frame_sha256, sample_size=rules.sample_size, accept=rules.accept,
             reject=rules.reject, sample=sampling.selected_ids(ranking))
        uow.commit()
    return plan


def judge_item(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID, checklist_id: uuid.UUID, *,
               verdict: Verdict, note: str = "") -> CorrectivePlan:
    """A reviewer's verdict on one checklist of the re-audit (a later one replaces it, logged)."""
    actor.require(*REVIEWERS)
    with uow:
        session = uow.session
        plan = _visible(session, actor, plan_id, for_update=True)
        item = next((i for i in plan.current_items if i.checklist_id == checklist_id), None)
        if item is None:
            raise NotFound(f"checklist {checklist_id} is not in this plan's re-audit")
        _ensure_status(plan, CorrectivePlanStatus.REAUDIT, doing="take verdicts")
        item.verdict, item.note, item.reviewer_id, item.judged_at = verdict, note, _user(actor), utcnow()
        plan.updated_at = utcnow()
        _log(session, plan, "reaudit.verdict", actor, round=plan.round, checklist_id=str(checklist_id),
             verdict=verdict.value, note=note)
        uow.commit()
    return plan


def _open_jobs(session: Session, point_id: uuid.UUID) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.service_point_id == point_id,
                                                  Job.status.in_(job_rules.TRANSFERABLE))
                                .options(selectinload(Job.product), selectinload(Job.service_point))
                                .order_by(Job.reference).with_for_update(of=Job)).all())


def decide(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID, *, outcome: CorrectiveOutcome, note: str,
           tz: ZoneInfo | str, deadline: date | None = None,
           successor_point_id: uuid.UUID | None = None) -> CorrectivePlan:
    """An admin's decision (see the module doc); one transaction with every consequence."""
    actor.require(Role.ADMIN)
    tz = zone(tz)
    if not note.strip():
        raise ValidationFailed("note", "say why HQ decides so")
    with uow:
        session = uow.session
        plan = _visible(session, actor, plan_id, for_update=True)
        _ensure_status(plan, *OPEN_STATUSES, doing="be decided again")
        payload: dict[str, Any] = {"outcome": outcome.value, "note": note, "round": plan.round}
        result = plan.reaudit
        if result is not None:
            payload["reaudit"] = {"judged": result.judged, "defects": result.defects, "critical": result.critical,
                                  "decision": result.decision.value if result.decision else None}
        if outcome == CorrectiveOutcome.CLOSE:
            if result is None or result.decision != LotDecision.ACCEPTED:
                raise RuleViolation("a plan closes only when its re-audit accepted the point's work "
                                    "(every verdict given, defects within the acceptance number)",
                                    reaudit=payload.get("reaudit"))
            plan.status = CorrectivePlanStatus.CLOSED
        elif outcome == CorrectiveOutcome.EXTEND:
            if deadline is None:
                raise ValidationFailed("deadline", "an extension needs the new deadline")
            if deadline <= max(plan.deadline, utcnow().astimezone(tz).date()):
                raise ValidationFailed("deadline", "must be later than the current deadline and today")
            payload["previous_deadline"], payload["deadline"] = plan.deadline.isoformat(), deadline.isoformat()
            plan.deadline, plan.status = deadline, CorrectivePlanStatus.OPEN
            if plan.reaudit_drawn_at is not None:
                plan.round += 1
            plan.reaudit_drawn_at = plan.reaudit_seed = plan.reaudit_frame_sha256 = None
            plan.frame_size = plan.sample_size = plan.accept_number = plan.reject_number = None
        elif outcome == CorrectiveOutcome.SUSPEND:
            service_points.suspend_in(session, actor, plan.service_point_id, reason=f"corrective plan: {note}")
            plan.status = CorrectivePlanStatus.SUSPENDED
        else:
            if successor_point_id is None:
                raise ValidationFailed("successor_point_id", "say which point takes over the regions")
            point = service_points.revoke_in(session, actor, plan.service_point_id, reason=f"corrective plan: {note}")
            successor = service_points.hand_over_coverage(session, actor, point, successor_point_id, tz=tz.key,
                                                          reason=note)
            moved = []
            for job in _open_jobs(session, point.id):
                jobs.transfer(session, job, successor, actor, tz=tz,
                              reason=f"{point.code} revoked after its corrective plan; {successor.code} took over")
                moved.append(job.reference)
            plan.status, plan.successor_point_id = CorrectivePlanStatus.REVOKED, successor.id
            payload |= {"successor_point_id": str(successor.id), "successor_code": successor.code,
                        "jobs_transferred": moved}
        plan.outcome, plan.decision_note = outcome, note
        plan.decided_by, plan.decided_at = _user(actor), utcnow()
        _log(session, plan, "decided", actor, **payload)
        uow.commit()
    return plan
