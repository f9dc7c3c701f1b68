"""HQ audits, the review: the review queue, what a reviewer sees of an audited checklist, verdicts
(append-only; corrections supersede), the point manager's disputes and their adjudication by a
second reviewer (design: SYNC_AUDIT_RELIABILITY.md 2.6)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from dispatch.audit_log import service as audit_log
from dispatch.audits import sampling
from dispatch.audits.lots import REVIEWERS, decide, jobs_by_photo, load_checklists
from dispatch.audits.models import (
    Audit,
    AuditDispute,
    AuditKind,
    AuditLot,
    AuditLotItem,
    AuditStatus,
    AuditVerdict,
    DisputeStatus,
    FindingCode,
    VerdictKind,
)
from dispatch.audits.sampling import Trigger, Verdict
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from dispatch.geo import great_circle_m
from dispatch.jobs.models import Job, JobEvent
from dispatch.sop.checklists import ChecklistView, build_view
from dispatch.sop.models import Attachment, Checklist, SopStep, SopVersion, StepResult
from dispatch.uow import UnitOfWork

DISPUTE_WINDOW = timedelta(days=3)


# --- audits: reads ---------------------------------------------------------------------------------


def _audit_scope(query, actor: Principal):
    """HQ: everything; a manager: their point's audits; a technician: their own final ones
    (findings reach the technician only once the verdict is final)."""
    if actor.is_hq:
        return query
    if actor.role == Role.MANAGER:
        return query.where(Audit.service_point_id == actor.service_point_id)
    if actor.technician_id is None:
        return query.where(Audit.id.is_(None))
    return query.where(Audit.technician_id == actor.technician_id, Audit.status == AuditStatus.FINAL)


AUDIT_LOADS = (selectinload(Audit.verdicts), selectinload(Audit.dispute),
               joinedload(Audit.lot).joinedload(AuditLot.service_point))
#: What the queue shows (AuditSchema, the console's queue): the lot only for its week label, in
#: the page's own query (issue 18: two queries fewer per page).
LIST_LOADS = (selectinload(Audit.verdicts), selectinload(Audit.dispute),
              joinedload(Audit.lot).load_only(AuditLot.iso_year, AuditLot.iso_week))


def list_audits(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, status: AuditStatus | None = None,
                kind: AuditKind | None = None, service_point_id: uuid.UUID | None = None,
                lot_id: uuid.UUID | None = None) -> tuple[list[Audit], int]:
    """The review queue: oldest sample first (then statistical before targeted, by rank)."""
    query = _audit_scope(select(Audit), actor)
    for column, value in ((Audit.status, status), (Audit.kind, kind), (Audit.service_point_id, service_point_id),
                          (Audit.lot_id, lot_id)):
        if value is not None:
            query = query.where(column == value)
    with uow:
        return page(uow.session, query.options(*LIST_LOADS)
                    .order_by(Audit.sampled_at, Audit.kind, Audit.rank, Audit.id), offset=offset, limit=limit)


@dataclass(frozen=True)
class EvidenceReview:
    """One photo as the reviewer needs it: its hash, the four clocks, and where it was taken."""

    attachment: Attachment
    position: int
    exif_minus_received_s: int | None  # EXIF time minus the step's server receive time
    exif_minus_recorded_s: int | None  # EXIF time minus the device time of the submission
    gps_distance_m: int | None  # to the job site
    gps_far: bool
    exif_time_skewed: bool
    other_jobs: list[str]  # jobs where the same bytes appear too


@dataclass(frozen=True)
class RevisionReview:
    result: StepResult
    is_current: bool
    distance_m: int | None  # where the submission was made, to the job site
    evidence: list[EvidenceReview]


@dataclass(frozen=True)
class StepReview:
    key: str
    title: str
    kind: str
    required: bool
    status: str
    revisions: list[RevisionReview]


@dataclass(frozen=True)
class ChecklistReview:
    checklist: Checklist
    template_code: str
    template_version: int
    late_sync: bool
    steps: list[StepReview]


@dataclass(frozen=True)
class AuditDetail:
    audit: Audit
    lot: AuditLot
    job: Job
    events: list[JobEvent]
    checklist: ChecklistReview


def _distance(lat: float | None, lon: float | None, job: Job) -> int | None:
    if None in (lat, lon, job.lat, job.lon):
        return None
    return round(great_circle_m(lat, lon, job.lat, job.lon))  # type: ignore[arg-type]


def _seconds(a: datetime | None, b: datetime | None) -> int | None:
    return None if a is None or b is None else round((a - b).total_seconds())


def _review_steps(view: ChecklistView, job: Job, photo_jobs: Mapping[str, set[uuid.UUID]]) -> list[StepReview]:
    steps = []
    for state in view.steps:
        revisions = []
        for result in state.revisions or ():
            refs = [job.arrived_at, job.completed_at, result.received_at]
            evidence = [EvidenceReview(
                attachment=link.attachment, position=link.position,
                exif_minus_received_s=_seconds(link.attachment.exif_taken_at, result.received_at),
                exif_minus_recorded_s=_seconds(link.attachment.exif_taken_at, result.recorded_at),
                gps_distance_m=_distance(link.attachment.gps_lat, link.attachment.gps_lon, job),
                gps_far=sampling.gps_far(link.attachment.gps_lat, link.attachment.gps_lon, job.lat, job.lon)
                is not None,
                exif_time_skewed=sampling.exif_time_skewed(link.attachment.exif_taken_at, refs),
                other_jobs=sorted(str(j) for j in photo_jobs.get(link.attachment.sha256, ()) if j != job.id),
            ) for link in result.evidence]
            revisions.append(RevisionReview(result=result, is_current=state.current is result,
                                            distance_m=_distance(result.lat, result.lon, job), evidence=evidence))
        steps.append(StepReview(key=state.step.key, title=state.step.title, kind=state.step.kind.value,
                                required=state.step.required, status=state.status.value, revisions=revisions))
    return steps


def _visible_audit(session: Session, actor: Principal, audit_id: uuid.UUID, *, for_update: bool = False) -> Audit:
    query = _audit_scope(select(Audit).where(Audit.id == audit_id), actor).options(*AUDIT_LOADS)
    if for_update:
        query = query.with_for_update(of=Audit)
    audit = session.scalar(query)
    if audit is None:
        raise NotFound(f"audit {audit_id} does not exist")
    return audit


def get_audit(uow: UnitOfWork, actor: Principal, audit_id: uuid.UUID) -> AuditDetail:
    """What a reviewer needs: every revision of every step, each photo's EXIF time against the
    server's receive time and its GPS distance to the site, and the job's events."""
    with uow:
        session = uow.session
        audit = _visible_audit(session, actor, audit_id)
        checklist = load_checklists(session, [audit.checklist_id])[0]
        job = session.scalar(select(Job).where(Job.id == checklist.job_id)
                             .options(selectinload(Job.events), joinedload(Job.technician)))
        view = build_view(checklist, include_revisions=True)
        photo_jobs = jobs_by_photo(session, (link.attachment.sha256 for r in checklist.results for link in r.evidence))
        item = session.get(AuditLotItem, checklist.id)
        review = ChecklistReview(checklist=checklist, template_code=checklist.template_version.template.code,
                                 template_version=checklist.template_version.number,
                                 late_sync=bool(item and item.late_sync), steps=_review_steps(view, job, photo_jobs))
        return AuditDetail(audit=audit, lot=audit.lot, job=job, events=list(job.events), checklist=review)


# --- verdicts, disputes, adjudication ---------------------------------------------------------------


def _findings(verdict: Verdict, findings: Sequence[Mapping[str, Any]], step_keys: set[str]) -> list[dict[str, Any]]:
    """Validate per-step findings: a conforming verdict has none, any other verdict at least one."""
    if verdict == Verdict.CONFORMING and findings:
        raise ValidationFailed("findings", "a conforming verdict has no findings")
    if verdict != Verdict.CONFORMING and not findings:
        raise ValidationFailed("findings", f"a {verdict.value} verdict names at least one finding")
    clean = []
    for index, finding in enumerate(findings):
        key = finding.get("step_key")
        if key is not None and key not in step_keys:
            raise ValidationFailed(f"findings.{index}.step_key", f"the checklist has no step {key!r}")
        code = FindingCode(finding["code"])
        note = (finding.get("note") or "").strip()
        if code == FindingCode.OTHER and not note:
            raise ValidationFailed(f"findings.{index}.note", "say what is wrong when the code is 'other'")
        clean.append({"step_key": key, "code": code.value, "note": note})
    return clean


def _append_verdict(session: Session, audit: Audit, actor: Principal, *, kind: VerdictKind, verdict: Verdict,
                    findings: list[dict[str, Any]], note: str, now: datetime) -> AuditVerdict:
    previous = audit.current_verdict
    seq = previous.seq + 1 if previous else 1
    # The row first, naming the entry that will seal it as written (the head stays locked to commit).
    row = AuditVerdict(audit_id=audit.id, seq=seq, kind=kind, verdict=verdict, findings=findings, note=note,
                       reviewer_id=actor.user_id, supersedes_id=previous.id if previous else None, created_at=now,
                       log_seq=audit_log.next_seq(session, actor.user_id))
    audit.verdicts.append(row)
    audit.verdict, audit.verdict_at = verdict, now  # the copy lot decisions read: sealed with the row
    entry = audit_log.append(session, kind=f"audit.verdict.{kind.value}", subject_id=audit.id, actor_id=actor.user_id,
                             seal=[row, audit],
                             payload={"audit_id": str(audit.id), "checklist_id": str(audit.checklist_id),
                                      "seq": seq, "verdict": verdict.value, "findings": findings, "note": note,
                                      "supersedes_seq": previous.seq if previous else None})
    if entry.seq != row.log_seq:  # cannot happen while the head is locked; never let it pass silently
        raise RuntimeError(f"verdict sealed by entry {entry.seq}, expected {row.log_seq}")
    return row


def _step_keys(session: Session, audit: Audit) -> set[str]:
    """The step keys of the audited checklist's SOP version (what findings may refer to)."""
    return set(session.scalars(select(SopStep.key).join(Checklist, Checklist.template_version_id == SopStep.version_id)
                               .where(Checklist.id == audit.checklist_id)))


def _critical_follow_up(session: Session, audit: Audit, *, now: datetime) -> int:
    """A critical finding puts the technician's other checklists of the same SOP in the lot
    under (targeted) review."""
    checklist = session.get(Checklist, audit.checklist_id)
    template_id = session.scalar(select(SopVersion.template_id).where(SopVersion.id == checklist.template_version_id))
    candidates = session.scalars(
        select(Checklist).join(AuditLotItem, AuditLotItem.checklist_id == Checklist.id)
        .join(SopVersion, SopVersion.id == Checklist.template_version_id)
        .outerjoin(Audit, Audit.checklist_id == Checklist.id)
        .where(AuditLotItem.lot_id == audit.lot_id, Checklist.technician_id == audit.technician_id,
               SopVersion.template_id == template_id, Audit.id.is_(None), Checklist.id != audit.checklist_id)
        .order_by(Checklist.id)
    ).all() if audit.technician_id else []
    for other in candidates:
        session.add(Audit(lot_id=audit.lot_id, checklist_id=other.id, service_point_id=audit.service_point_id,
                          job_id=other.job_id, technician_id=other.technician_id, kind=AuditKind.TARGETED,
                          triggers=[{"code": Trigger.CRITICAL_FOLLOW_UP.value, "detail": {"audit_id": str(audit.id)}}],
                          status=AuditStatus.OPEN, sampled_at=now))
    return len(candidates)


def record_verdict(session: Session, actor: Principal, audit_id: uuid.UUID, *, verdict: Verdict,
                   findings: Sequence[Mapping[str, Any]] = (), note: str = "",
                   supersedes_id: uuid.UUID | None = None, now: datetime | None = None) -> Audit:
    """Add a verdict in the caller's transaction (see :func:`give_verdict`); no commit."""
    actor.require(*REVIEWERS)
    verdict, now = Verdict(verdict), now or utcnow()
    audit = _visible_audit(session, actor, audit_id, for_update=True)
    if actor.service_point_id is not None and actor.service_point_id == audit.service_point_id:
        raise Forbidden("a reviewer may not audit their own service point")
    current = audit.current_verdict
    if audit.status == AuditStatus.OPEN:
        if supersedes_id is not None:
            raise Conflict(f"audit {audit.id} has no verdict to supersede yet")
        kind = VerdictKind.REVIEW
    elif audit.status == AuditStatus.VERDICT_GIVEN and now < audit.dispute_until:
        if supersedes_id != current.id:
            raise Conflict(f"audit {audit.id} already has a verdict; a correction names it in supersedes_id",
                           current_verdict_id=str(current.id))
        kind = VerdictKind.CORRECTION
    elif audit.status == AuditStatus.DISPUTED:
        raise InvalidTransition(f"audit {audit.id} is disputed; a second reviewer adjudicates it",
                                audit_status=audit.status.value)
    else:
        raise InvalidTransition(f"the verdict of audit {audit.id} is final", audit_status=AuditStatus.FINAL.value)
    clean = _findings(verdict, findings, _step_keys(session, audit))
    _append_verdict(session, audit, actor, kind=kind, verdict=verdict, findings=clean, note=note.strip(), now=now)
    audit.status, audit.dispute_until = AuditStatus.VERDICT_GIVEN, now + DISPUTE_WINDOW
    if verdict == Verdict.CRITICAL:
        _critical_follow_up(session, audit, now=now)
    _flush(session, audit)
    return audit


def _flush(session: Session, audit: Audit) -> None:
    """Write now; a concurrent change of the same audit (its version moved) is a 409, not a 500."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"audit {audit.id} was changed by someone else meanwhile; fetch it and retry") from exc


def give_verdict(uow: UnitOfWork, actor: Principal, audit_id: uuid.UUID, *, verdict: Verdict,
                 findings: Sequence[Mapping[str, Any]] = (), note: str = "",
                 supersedes_id: uuid.UUID | None = None) -> Audit:
    """An HQ reviewer's verdict (or a correction naming the verdict it supersedes).

    Verdicts are never edited: a correction is a new row, allowed while the point's dispute
    window is open, and it restarts the window. A critical verdict puts the technician's other
    checklists of the same SOP in the lot under review.
    """
    with uow:
        audit = record_verdict(uow.session, actor, audit_id, verdict=verdict, findings=findings, note=note,
                               supersedes_id=supersedes_id)
        uow.commit()
    return audit


def dispute_verdict(uow: UnitOfWork, actor: Principal, audit_id: uuid.UUID, *, reason: str) -> Audit:
    """The point's manager objects to a verdict within the dispute window (3 days)."""
    if actor.role != Role.MANAGER:
        raise Forbidden("only the service point's manager may dispute a verdict")
    if not reason.strip():
        raise ValidationFailed("reason", "say why the verdict is wrong")
    now = utcnow()
    with uow:
        session = uow.session
        audit = _visible_audit(session, actor, audit_id, for_update=True)
        current = audit.current_verdict
        if audit.status != AuditStatus.VERDICT_GIVEN or now >= audit.dispute_until:
            status = AuditStatus.FINAL if audit.status == AuditStatus.VERDICT_GIVEN else audit.status
            raise InvalidTransition(f"audit {audit.id} is {status.value}; a verdict is disputed within "
                                    f"{DISPUTE_WINDOW.days} days of being given", audit_status=status.value)
        if current.verdict == Verdict.CONFORMING:
            raise InvalidTransition(f"audit {audit.id} found the checklist conforming; there is nothing to dispute",
                                    audit_status=audit.status.value)
        dispute = AuditDispute(audit_id=audit.id, verdict_id=current.id, raised_by=actor.user_id,
                               reason=reason.strip(), raised_at=now, status=DisputeStatus.OPEN)
        session.add(dispute)
        audit.dispute = dispute
        audit.status = AuditStatus.DISPUTED
        _flush(session, audit)
        audit_log.append(session, kind="audit.disputed", subject_id=audit.id, actor_id=actor.user_id,
                         payload={"audit_id": str(audit.id), "verdict_seq": current.seq, "reason": dispute.reason})
        uow.commit()
    return audit


def adjudicate(uow: UnitOfWork, actor: Principal, audit_id: uuid.UUID, *, outcome: DisputeStatus,
               verdict: Verdict | None = None, findings: Sequence[Mapping[str, Any]] = (),
               note: str = "") -> Audit:
    """A second HQ reviewer settles a dispute: the verdict is upheld, or amended by a new
    verdict that supersedes it. Either way the audit becomes final."""
    actor.require(*REVIEWERS)
    outcome = DisputeStatus(outcome)
    if outcome == DisputeStatus.OPEN:
        raise ValidationFailed("outcome", "upheld or amended")
    if outcome == DisputeStatus.AMENDED and verdict is None:
        raise ValidationFailed("verdict", "an amended verdict says what the verdict becomes")
    if outcome == DisputeStatus.UPHELD and (verdict is not None or findings):
        raise ValidationFailed("verdict", "an upheld verdict stands as it is; give no new verdict or findings")
    if not note.strip():
        raise ValidationFailed("note", "explain the decision to the point")
    now = utcnow()
    with uow:
        session = uow.session
        audit = _visible_audit(session, actor, audit_id, for_update=True)
        if audit.status != AuditStatus.DISPUTED:
            raise InvalidTransition(f"audit {audit.id} is {audit.status.value}; only a disputed audit is adjudicated",
                                    audit_status=audit.status.value)
        if actor.user_id in {v.reviewer_id for v in audit.verdicts}:
            raise Forbidden("the adjudicator must be a second reviewer, not one who gave a verdict on this audit")
        dispute = audit.dispute
        resulting = None
        if outcome == DisputeStatus.AMENDED:
            clean = _findings(Verdict(verdict), findings, _step_keys(session, audit))
            resulting = _append_verdict(session, audit, actor, kind=VerdictKind.ADJUDICATION, verdict=Verdict(verdict),
                                        findings=clean, note=note.strip(), now=now)
            _flush(session, audit)
        dispute.status, dispute.adjudicator_id, dispute.adjudicated_at = outcome, actor.user_id, now
        dispute.resolution, dispute.resulting_verdict_id = note.strip(), resulting.id if resulting else None
        audit.status, audit.final_at = AuditStatus.FINAL, now
        _flush(session, audit)
        audit_log.append(session, kind="audit.adjudicated", subject_id=audit.id, actor_id=actor.user_id,
                         payload={"audit_id": str(audit.id), "outcome": outcome.value, "verdict": audit.verdict.value,
                                  "note": dispute.resolution})
        decide(session, audit.lot, now=now)
        uow.commit()
    return audit


