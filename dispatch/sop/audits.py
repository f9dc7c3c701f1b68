"""HQ spot-checks of completed SOP checklists (design: SYNC_AUDIT_RELIABILITY.md 2.6).

The cycle, run nightly and on demand (:func:`draw_samples`):

1. every active point gets the current week's lot; its random 32-byte seed is committed (its
   SHA-256 appended to the tamper-evident log) before any of the week's checklists are known;
2. completed checklists join the lot of the ISO week (local) their job was completed in, unless
   the completion reached the server after that lot froze: then they join the lot of the week
   they arrived in, flagged ``late_sync``;
3. 48 h after its week ends, a lot freezes: the frame (sorted checklist ids) and its SHA-256 go
   into the log together with the revealed seed; the ISO 2859-1 plan gives the sample size and
   the checklists with the lowest HMAC-SHA256(seed, "lot:checklist") keys are the statistical
   sample. Checklists hit by a risk trigger are reviewed on top (targeted), never counted;
4. verdicts become final when the point's dispute window (3 days) passes, or when a second
   reviewer adjudicates a dispute; a lot is decided as soon as its outcome is certain.

Scores are computed on read from final verdicts of statistical audits, so they never drift.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from dispatch.audit_log import service as audit_log
from dispatch.audit_log.models import LogEntry
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from dispatch.jobs import rules as job_rules
from dispatch.jobs.models import Job, JobEvent
from dispatch.network.models import AuthorisationStatus, ServicePoint, Technician
from dispatch.sop import sampling
from dispatch.sop.audit_models import (
    Audit,
    AuditDispute,
    AuditKind,
    AuditLot,
    AuditLotItem,
    AuditStatus,
    AuditVerdict,
    DisputeStatus,
    FindingCode,
    LotStatus,
    VerdictKind,
)
from dispatch.sop.checklists import ChecklistView, build_view
from dispatch.sop.models import (
    Attachment,
    Checklist,
    ChecklistStatus,
    SopStep,
    SopVersion,
    StepEvidence,
    StepResult,
)
from dispatch.sop.sampling import LotDecision, LotWeek, Trigger, Verdict
from dispatch.uow import UnitOfWork

DISPUTE_WINDOW = timedelta(days=3)
DEFAULT_PERIOD_DAYS = 182  # scorecards look at half a year unless told otherwise
REVIEWERS = (Role.ADMIN, Role.REVIEWER)


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


# --- lots ----------------------------------------------------------------------------------------


@dataclass
class DrawReport:
    """What one run of the audit cycle did (all zeros on a second run at the same moment)."""

    lots_opened: int = 0
    checklists_assigned: int = 0
    late_syncs: int = 0
    lots_frozen: int = 0
    statistical: int = 0
    targeted: int = 0
    verdicts_finalised: int = 0
    lots_decided: int = 0
    ran_at: datetime | None = None


LotIdentity = Callable[[uuid.UUID, LotWeek], tuple[uuid.UUID, bytes]]
"""(point id, week) -> (lot id, 32-byte seed); the default is a random id and seed."""


def random_identity(_point_id: uuid.UUID, _week: LotWeek) -> tuple[uuid.UUID, bytes]:
    return uuid.uuid4(), secrets.token_bytes(sampling.SEED_BYTES)


class _Lots:
    """Finds or opens lots within one transaction (committing each new seed to the log)."""

    def __init__(self, session: Session, tz: ZoneInfo, now: datetime, report: DrawReport,
                 identity: LotIdentity = random_identity) -> None:
        self.session, self.tz, self.now, self.report, self.identity = session, tz, now, report, identity
        self._cache: dict[tuple[uuid.UUID, int, int], AuditLot] = {}

    def get_or_open(self, point_id: uuid.UUID, week: LotWeek) -> AuditLot:
        key = (point_id, week.iso_year, week.iso_week)
        if key in self._cache:
            return self._cache[key]
        lot = self.session.scalar(select(AuditLot).where(
            AuditLot.service_point_id == point_id, AuditLot.iso_year == week.iso_year,
            AuditLot.iso_week == week.iso_week))
        if lot is None:
            lot = self._open(point_id, week)
        self._cache[key] = lot
        return lot

    def _open(self, point_id: uuid.UUID, week: LotWeek) -> AuditLot:
        lot_id, seed = self.identity(point_id, week)
        commitment = sampling.seed_commitment(seed)
        entry = audit_log.append(self.session, kind="audit.lot.opened", subject_id=lot_id, payload={
            "lot_id": str(lot_id), "service_point_id": str(point_id), "week": week.label,
            "seed_commitment": commitment, "freezes_at": week.freezes_at.isoformat(),
        })
        lot = AuditLot(id=lot_id, service_point_id=point_id, iso_year=week.iso_year, iso_week=week.iso_week,
                       starts_at=week.starts_at, ends_at=week.ends_at, freezes_at=week.freezes_at,
                       status=LotStatus.OPEN, seed=seed.hex(), seed_commitment=commitment, opened_at=self.now,
                       commitment_log_seq=entry.seq)
        self.session.add(lot)
        self.report.lots_opened += 1
        return lot


def _open_current_lots(lots: _Lots) -> None:
    """The current week's lot for every authorised point: its seed is committed up front."""
    week = sampling.lot_week_of(lots.now, lots.tz)
    points = lots.session.scalars(select(ServicePoint.id).where(ServicePoint.status == AuthorisationStatus.ACTIVE)
                                  .order_by(ServicePoint.code)).all()
    for point_id in points:
        lots.get_or_open(point_id, week)


def _assign_completed_checklists(lots: _Lots) -> None:
    """Put every completed checklist not yet in a lot into its lot (see the module doc)."""
    rows = lots.session.execute(
        select(Checklist.id, Checklist.service_point_id, Checklist.completed_at, Job.completed_at)
        .join(Job, Job.id == Checklist.job_id)
        .outerjoin(AuditLotItem, AuditLotItem.checklist_id == Checklist.id)
        .where(Checklist.status == ChecklistStatus.COMPLETED, Checklist.completed_at <= lots.now,
               Checklist.service_point_id.is_not(None), AuditLotItem.checklist_id.is_(None))
        .order_by(Checklist.completed_at, Checklist.id)
    ).all()
    for checklist_id, point_id, received_at, job_completed_at in rows:
        completed_week = sampling.lot_week_of(job_completed_at or received_at, lots.tz)
        late = sampling.is_late(received_at, completed_week)
        week = sampling.lot_week_of(received_at, lots.tz) if late else completed_week
        lot = lots.get_or_open(point_id, week)
        while lot.status != LotStatus.OPEN:  # that lot froze while this completion was in flight
            late, week = True, week.next(lots.tz)
            lot = lots.get_or_open(point_id, week)
        lots.session.add(AuditLotItem(checklist_id=checklist_id, lot_id=lot.id, completed_week=completed_week.label,
                                      received_at=received_at, late_sync=late, added_at=lots.now))
        lots.report.checklists_assigned += 1
        lots.report.late_syncs += int(late)
    lots.session.flush()


# --- targeted triggers -----------------------------------------------------------------------------


def _load_checklists(session: Session, checklist_ids: Iterable[uuid.UUID]) -> list[Checklist]:
    return list(session.scalars(
        select(Checklist).where(Checklist.id.in_(list(checklist_ids)))
        .options(selectinload(Checklist.results).selectinload(StepResult.evidence)
                 .selectinload(StepEvidence.attachment),
                 selectinload(Checklist.template_version).selectinload(SopVersion.steps),
                 selectinload(Checklist.template_version).selectinload(SopVersion.template),
                 selectinload(Checklist.job).selectinload(Job.product))
    ).all())


def _photo_jobs(session: Session, hashes: Iterable[str]) -> dict[str, set[uuid.UUID]]:
    """For each photo hash, the jobs whose checklists carry it (any point, any revision)."""
    hashes = sorted(set(hashes))
    found: dict[str, set[uuid.UUID]] = defaultdict(set)
    for start in range(0, len(hashes), 500):
        rows = session.execute(
            select(Attachment.sha256, Checklist.job_id)
            .join(StepEvidence, StepEvidence.attachment_id == Attachment.id)
            .join(StepResult, StepResult.id == StepEvidence.result_id)
            .join(Checklist, Checklist.id == StepResult.checklist_id)
            .where(Attachment.sha256.in_(hashes[start:start + 500]))
        ).all()
        for sha, job_id in rows:
            found[sha].add(job_id)
    return found


def _targeted_triggers(session: Session, checklists: Sequence[Checklist], items: Sequence[AuditLotItem],
                       tz: ZoneInfo) -> dict[uuid.UUID, list[dict]]:
    """Risk triggers per checklist of a frame: why it deserves a review on top of the sample."""
    late = {i.checklist_id: i for i in items if i.late_sync}
    tech_ids = {c.technician_id for c in checklists if c.technician_id}
    hired = dict(session.execute(select(Technician.id, Technician.hired_on)
                                 .where(Technician.id.in_(tech_ids))).all()) if tech_ids else {}
    photo_jobs = _photo_jobs(session, (link.attachment.sha256 for c in checklists for r in c.results
                                       for link in r.evidence))
    triggers: dict[uuid.UUID, list[dict]] = {}
    for checklist in checklists:
        job, found = checklist.job, []
        if checklist.id in late:
            item = late[checklist.id]
            found.append({"code": Trigger.LATE_SYNC, "detail": {"completed_week": item.completed_week,
                                                                  "received_at": item.received_at.isoformat()}})
        done_at = job.completed_at or checklist.completed_at
        hired_on = hired.get(checklist.technician_id)
        if done_at is not None and sampling.new_technician(hired_on, done_at.astimezone(tz).date()):
            found.append({"code": Trigger.NEW_TECHNICIAN, "detail": {"technician_id": str(checklist.technician_id),
                                                                       "hired_on": hired_on.isoformat()}})
        standard = job.product.minutes_for(job.type) if job.product is not None else None
        if sampling.too_fast(job.arrived_at, job.completed_at, standard):
            minutes = round((job.completed_at - job.arrived_at).total_seconds() / 60, 1)
            found.append({"code": Trigger.TOO_FAST, "detail": {"on_site_minutes": minutes,
                                                                 "standard_minutes": standard}})
        if checklist.flagged_steps:
            found.append({"code": Trigger.FLAGGED_READING, "detail": {"steps": list(checklist.flagged_steps)}})
        seen: set[tuple[str, str]] = set()
        for result in checklist.results:
            for link in result.evidence:
                photo = link.attachment
                refs = [job.arrived_at, job.completed_at, result.received_at]
                if ("time", photo.sha256) not in seen and sampling.exif_time_skewed(photo.exif_taken_at, refs):
                    seen.add(("time", photo.sha256))
                    found.append({"code": Trigger.EXIF_TIME_SKEW, "detail": {
                        "step_key": result.step_key, "sha256": photo.sha256,
                        "exif_taken_at": photo.exif_taken_at.isoformat(),
                        "received_at": result.received_at.isoformat()}})
                metres = sampling.gps_far(photo.gps_lat, photo.gps_lon, job.lat, job.lon)
                if metres is not None and ("gps", photo.sha256) not in seen:
                    seen.add(("gps", photo.sha256))
                    found.append({"code": Trigger.EXIF_GPS_FAR, "detail": {
                        "step_key": result.step_key, "sha256": photo.sha256, "distance_m": round(metres)}})
                others = sorted(str(j) for j in photo_jobs.get(photo.sha256, ()) if j != checklist.job_id)
                if others and ("reuse", photo.sha256) not in seen:
                    seen.add(("reuse", photo.sha256))
                    found.append({"code": Trigger.REUSED_PHOTO, "detail": {
                        "step_key": result.step_key, "sha256": photo.sha256, "other_jobs": others}})
        if found:
            triggers[checklist.id] = [{"code": t["code"].value, "detail": t["detail"]} for t in found]
    return triggers


# --- freezing and drawing -------------------------------------------------------------------------


def _plan_of(lot: AuditLot) -> sampling.SamplingPlan:
    return sampling.plan_for(len(lot.frame or ()), level=lot.inspection_level, aql=lot.aql)


def _freeze(session: Session, lot: AuditLot, *, now: datetime, tz: ZoneInfo, report: DrawReport) -> None:
    """Fix the frame, reveal the seed, draw the statistical sample and the targeted reviews."""
    items = session.scalars(select(AuditLotItem).where(AuditLotItem.lot_id == lot.id)).all()
    frame = sampling.canonical_frame(i.checklist_id for i in items)
    lot.frozen_at, lot.frame, lot.frame_sha256 = now, frame, sampling.frame_sha256(frame)
    payload: dict[str, Any] = {"lot_id": str(lot.id), "service_point_id": str(lot.service_point_id),
                               "week": lot.label, "seed": lot.seed, "seed_commitment": lot.seed_commitment,
                               "frame": frame, "frame_sha256": lot.frame_sha256}
    if not frame:
        lot.status = LotStatus.EMPTY
        lot.frame_log_seq = audit_log.append(session, kind="audit.lot.frozen", subject_id=lot.id, payload=payload).seq
        report.lots_frozen += 1
        return
    plan = sampling.plan_for(len(frame), level=lot.inspection_level, aql=lot.aql)
    lot.code_letter, lot.plan_letter, lot.sample_size = plan.code_letter, plan.plan_letter, plan.sample_size
    lot.accept_number, lot.reject_number = plan.accept, plan.reject
    ranking = sampling.derive_sample(bytes.fromhex(lot.seed), lot.id, frame, plan.sample_size)
    facts = {c.id: c for c in _load_checklists(session, [i.checklist_id for i in items])}
    triggers = _targeted_triggers(session, list(facts.values()), items, tz)
    statistical, targeted = [], []
    for item in ranking:
        cid = uuid.UUID(item.checklist_id)
        found = triggers.get(cid, [])
        if not item.selected and not found:
            continue
        checklist = facts[cid]
        kind = AuditKind.STATISTICAL if item.selected else AuditKind.TARGETED
        session.add(Audit(lot_id=lot.id, checklist_id=cid, service_point_id=lot.service_point_id,
                          job_id=checklist.job_id, technician_id=checklist.technician_id, kind=kind,
                          rank=item.rank if item.selected else None, rank_key=item.key if item.selected else None,
                          triggers=found, status=AuditStatus.OPEN, sampled_at=now))
        (statistical if item.selected else targeted).append(item.checklist_id)
    lot.status = LotStatus.FROZEN
    payload |= {"plan": {"level": plan.level, "aql": plan.aql, "code_letter": plan.code_letter,
                         "plan_letter": plan.plan_letter, "sample_size": plan.sample_size,
                         "accept": plan.accept, "reject": plan.reject},
                "statistical": statistical, "targeted": targeted}
    lot.frame_log_seq = audit_log.append(session, kind="audit.lot.frozen", subject_id=lot.id, payload=payload).seq
    session.flush()
    report.lots_frozen += 1
    report.statistical += len(statistical)
    report.targeted += len(targeted)


def _decide(session: Session, lot: AuditLot, *, now: datetime) -> bool:
    """Accept or reject a frozen lot once its outcome is certain; True when it was decided."""
    if lot.status != LotStatus.FROZEN:
        return False
    audits = session.scalars(select(Audit).where(Audit.lot_id == lot.id)).all()
    final = [a for a in audits if a.status == AuditStatus.FINAL]
    verdicts = [a.verdict for a in final if a.kind == AuditKind.STATISTICAL and a.verdict is not None]
    critical = any(a.verdict == Verdict.CRITICAL for a in final)
    decision = sampling.decide_lot(_plan_of(lot), verdicts, critical_anywhere=critical,
                                   complete=len(final) == len(audits))
    if decision is None:
        return False
    defects = sum(1 for v in verdicts if v in sampling.DEFECTIVE)
    lot.status, lot.decision, lot.decided_at, lot.defects, lot.critical_found = (
        LotStatus.DECIDED, decision, now, defects, critical)
    audit_log.append(session, kind="audit.lot.decided", subject_id=lot.id, payload={
        "lot_id": str(lot.id), "service_point_id": str(lot.service_point_id), "week": lot.label,
        "decision": decision.value, "defects": defects, "sampled": len(verdicts), "critical": critical,
        "accept": lot.accept_number, "reject": lot.reject_number})
    return True


def _finalise_expired(session: Session, *, now: datetime, report: DrawReport) -> set[uuid.UUID]:
    """Verdicts whose dispute window passed without a dispute become final."""
    expired = session.scalars(select(Audit).where(Audit.status == AuditStatus.VERDICT_GIVEN,
                                                  Audit.dispute_until <= now).order_by(Audit.dispute_until)).all()
    for audit in expired:
        audit.status, audit.final_at = AuditStatus.FINAL, audit.dispute_until
        audit_log.append(session, kind="audit.final", subject_id=audit.id, payload={
            "audit_id": str(audit.id), "lot_id": str(audit.lot_id), "verdict": audit.verdict.value,
            "reason": "dispute window passed"})
    report.verdicts_finalised += len(expired)
    return {a.lot_id for a in expired}


def run_audit_cycle(session: Session, *, tz: ZoneInfo | str, now: datetime | None = None,
                    identity: LotIdentity = random_identity) -> DrawReport:
    """Everything due at ``now``, in the caller's transaction: open lots, assign checklists,
    freeze due lots and draw, finalise verdicts whose dispute window passed, decide lots.
    Idempotent: a second run at the same moment changes nothing. ``identity`` gives new lots
    their id and seed (random unless a caller such as the demo data needs them reproducible)."""
    tz, now = _zone(tz), now or utcnow()
    # Every cycle appends to the log (HQ's chain) anyway: taking that chain's head lock first makes
    # concurrent cycles (the nightly task and a manual draw) run one after the other, the second
    # finding nothing left to do, instead of colliding on the lots' unique keys.
    audit_log.lock_chain(session, audit_log.HQ_CHAIN)
    report = DrawReport(ran_at=now)
    lots = _Lots(session, tz, now, report, identity)
    _open_current_lots(lots)
    _assign_completed_checklists(lots)
    due = session.scalars(select(AuditLot).where(AuditLot.status == LotStatus.OPEN, AuditLot.freezes_at <= now)
                          .order_by(AuditLot.freezes_at, AuditLot.id).with_for_update()).all()
    for lot in due:
        _freeze(session, lot, now=now, tz=tz, report=report)
    touched = _finalise_expired(session, now=now, report=report) | {lot.id for lot in due}
    for lot in session.scalars(select(AuditLot).where(AuditLot.id.in_(touched)).order_by(AuditLot.freezes_at)).all():
        report.lots_decided += int(_decide(session, lot, now=now))
    session.flush()
    return report


def draw_samples(uow: UnitOfWork, actor: Principal, *, tz: ZoneInfo | str) -> DrawReport:
    """Draw the samples of every lot due now (HQ); drawing twice draws nothing new."""
    actor.require(*REVIEWERS)
    with uow:
        report = run_audit_cycle(uow.session, tz=tz)
        uow.commit()
    return report


# --- lots: reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedCandidate:
    checklist_id: str
    key: str
    rank: int
    selected: bool
    audit_id: uuid.UUID | None
    late_sync: bool


@dataclass(frozen=True)
class LotView:
    lot: AuditLot
    plan: sampling.SamplingPlan | None
    derivation: list[RankedCandidate] | None  # None until the seed is revealed
    checks: dict[str, bool] | None
    counts: dict[str, int]

    @property
    def seed(self) -> str | None:
        return self.lot.seed if self.lot.revealed else None


def _lot_scope(query, actor: Principal):
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    point = actor.point_filter()
    return query if point is None else query.where(AuditLot.service_point_id == point)


def list_lots(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
              service_point_id: uuid.UUID | None = None, status: LotStatus | None = None,
              week: str | None = None) -> tuple[list[AuditLot], int]:
    """Lots, newest week first (HQ: all points; a manager: their own)."""
    query = _lot_scope(select(AuditLot), actor)
    if service_point_id is not None:
        query = query.where(AuditLot.service_point_id == service_point_id)
    if status is not None:
        query = query.where(AuditLot.status == status)
    if week is not None:
        year, _, number = week.partition("-W")
        if not (year.isdigit() and number.isdigit()):
            raise ValidationFailed("week", "an ISO week like 2026-W47")
        query = query.where(AuditLot.iso_year == int(year), AuditLot.iso_week == int(number))
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery()))
        items = uow.session.scalars(query.options(selectinload(AuditLot.service_point))
                                    .order_by(AuditLot.iso_year.desc(), AuditLot.iso_week.desc(), AuditLot.id)
                                    .offset(offset).limit(limit)).all()
        return list(items), total


def _lot_checks(session: Session, lot: AuditLot, derivation: list[RankedCandidate],
                audits: Sequence[Audit]) -> dict[str, bool]:
    """Re-derive everything from what is stored and logged: does it all still agree?"""
    seed = bytes.fromhex(lot.seed)
    logged = dict(session.execute(select(LogEntry.seq, LogEntry.payload).where(
        LogEntry.seq.in_([lot.commitment_log_seq, lot.frame_log_seq]))).all())
    opened, frozen = logged.get(lot.commitment_log_seq, {}), logged.get(lot.frame_log_seq, {})
    members = sampling.canonical_frame(session.scalars(select(AuditLotItem.checklist_id)
                                                       .where(AuditLotItem.lot_id == lot.id)).all())
    drawn = {str(a.checklist_id) for a in audits if a.kind == AuditKind.STATISTICAL}
    return {
        "seed_matches_commitment": sampling.seed_commitment(seed) == lot.seed_commitment,
        "commitment_logged_before_freeze": opened.get("seed_commitment") == lot.seed_commitment
        and lot.opened_at < lot.freezes_at and lot.commitment_log_seq < (lot.frame_log_seq or 0),
        "frame_matches_hash": sampling.frame_sha256(lot.frame or []) == lot.frame_sha256
        and members == (lot.frame or []),
        "frame_and_seed_logged": frozen.get("frame_sha256") == lot.frame_sha256 and frozen.get("seed") == lot.seed,
        "sample_matches_derivation": drawn == {c.checklist_id for c in derivation if c.selected},
    }


def get_lot(uow: UnitOfWork, actor: Principal, lot_id: uuid.UUID) -> LotView:
    """One lot: commitment, and once frozen the seed, frame hash, plan and the full ranking so
    that anyone can re-derive the sample."""
    with uow:
        session = uow.session
        lot = session.scalar(_lot_scope(select(AuditLot), actor).where(AuditLot.id == lot_id)
                             .options(selectinload(AuditLot.service_point)))
        if lot is None:
            raise NotFound(f"audit lot {lot_id} does not exist")
        items = session.scalars(select(AuditLotItem).where(AuditLotItem.lot_id == lot.id)).all()
        audits = session.scalars(select(Audit).where(Audit.lot_id == lot.id)).all()
        counts = {"items": len(items), "late_syncs": sum(1 for i in items if i.late_sync),
                  "statistical": sum(1 for a in audits if a.kind == AuditKind.STATISTICAL),
                  "targeted": sum(1 for a in audits if a.kind == AuditKind.TARGETED)}
        if not lot.revealed:
            return LotView(lot, None, None, None, counts)
        by_checklist = {str(a.checklist_id): a.id for a in audits}
        late = {str(i.checklist_id) for i in items if i.late_sync}
        plan = _plan_of(lot) if lot.frame else None
        ranking = sampling.derive_sample(bytes.fromhex(lot.seed), lot.id, lot.frame or [],
                                         plan.sample_size if plan else 0)
        derivation = [RankedCandidate(r.checklist_id, r.key, r.rank, r.selected, by_checklist.get(r.checklist_id),
                                      r.checklist_id in late) for r in ranking]
        return LotView(lot, plan, derivation, _lot_checks(session, lot, derivation, audits), counts)


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
               selectinload(Audit.lot).selectinload(AuditLot.service_point))


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
        total = uow.session.scalar(select(func.count()).select_from(query.subquery()))
        items = uow.session.scalars(query.options(*AUDIT_LOADS)
                                    .order_by(Audit.sampled_at, Audit.kind, Audit.rank, Audit.id)
                                    .offset(offset).limit(limit)).all()
        return list(items), total


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
    return round(sampling.distance_m(lat, lon, job.lat, job.lon))  # type: ignore[arg-type]


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
        checklist = _load_checklists(session, [audit.checklist_id])[0]
        job = session.scalar(select(Job).where(Job.id == checklist.job_id)
                             .options(selectinload(Job.events), selectinload(Job.technician)))
        view = build_view(checklist, include_revisions=True)
        photo_jobs = _photo_jobs(session, (link.attachment.sha256 for r in checklist.results for link in r.evidence))
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
        _decide(session, audit.lot, now=now)
        uow.commit()
    return audit


# --- scorecards and flagged points ------------------------------------------------------------------


@dataclass
class ScoreCard:
    service_point: ServicePoint
    date_from: date
    date_to: date
    score: float | None
    band: sampling.Band
    window_lots: int
    sampled: int
    defects: int
    wilson_upper: float | None
    critical: bool
    lots_accepted: int
    lots_rejected: int
    lots_pending: int
    lots_empty: int
    verdicts: dict[str, int]
    targeted_verdicts: dict[str, int]
    findings_by_reason: dict[str, int]
    sla_jobs: int
    sla_met: int
    sla_missed: int
    sla_compliance: float | None
    recent_decisions: list[str] = field(default_factory=list)
    flag_reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flag_reasons)


def _period(date_from: date | None, date_to: date | None, tz: ZoneInfo, now: datetime) -> tuple[date, date]:
    date_to = date_to or now.astimezone(tz).date()
    date_from = date_from or date_to - timedelta(days=DEFAULT_PERIOD_DAYS)
    if date_from > date_to:
        raise ValidationFailed("from", "the period starts after it ends")
    return date_from, date_to


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def scorecard(session: Session, point: ServicePoint, *, date_from: date, date_to: date, tz: ZoneInfo,
              now: datetime) -> ScoreCard:
    """A point's quality over a period (helper: joins the caller's transaction).

    The score uses the statistical audits' final verdicts in the last 8 decided lots of the
    period; lots, verdicts and findings are counted over the whole period; SLA compliance is
    over the jobs due in the period whose clock has stopped or run out.
    """
    start, end = _local_start(date_from, tz), _local_start(date_to + timedelta(days=1), tz)
    lots = session.scalars(select(AuditLot).where(AuditLot.service_point_id == point.id,
                                                  AuditLot.starts_at >= start, AuditLot.starts_at < end)
                           .order_by(AuditLot.iso_year.desc(), AuditLot.iso_week.desc())).all()
    decided = [lot for lot in lots if lot.status == LotStatus.DECIDED]
    window = decided[:sampling.SCORE_WINDOW_LOTS]
    audits = session.scalars(select(Audit).where(Audit.lot_id.in_([lot.id for lot in lots]))
                             .options(selectinload(Audit.verdicts))).all() if lots else []
    in_window = {lot.id for lot in window}
    final = [a for a in audits if a.status == AuditStatus.FINAL]
    scored = [a for a in final if a.lot_id in in_window and a.kind == AuditKind.STATISTICAL]
    defects = sum(1 for a in scored if a.verdict in sampling.DEFECTIVE)
    critical = any(a.verdict == Verdict.CRITICAL for a in final if a.lot_id in in_window)
    findings = Counter(f["code"] for a in final for f in (a.current_verdict.findings if a.current_verdict else []))

    sla = Counter()
    jobs = session.execute(select(Job.sla_due_at, Job.sla_at_risk_at, Job.arrived_at, Job.cancelled_at)
                           .where(Job.service_point_id == point.id, Job.sla_due_at >= start, Job.sla_due_at < end)).all()
    for due_at, at_risk_at, arrived_at, cancelled_at in jobs:
        status = job_rules.sla_status(job_rules.SlaTimes(due_at, at_risk_at, arrived_at, cancelled_at), now)
        if status == job_rules.SlaStatus.BREACHED:
            sla["missed"] += 1
        elif arrived_at is not None:
            sla["met"] += 1
    counted = sla["met"] + sla["missed"]
    score = sampling.quality_score(defects, len(scored), critical=critical)
    recent = [lot.decision for lot in decided if lot.decision is not None]
    card = ScoreCard(
        service_point=point, date_from=date_from, date_to=date_to, score=score, band=sampling.band(score),
        window_lots=len(window), sampled=len(scored), defects=defects,
        wilson_upper=round(sampling.wilson_upper(defects, len(scored)), 6) if scored else None, critical=critical,
        lots_accepted=sum(1 for lot in decided if lot.decision == LotDecision.ACCEPTED),
        lots_rejected=sum(1 for lot in decided if lot.decision == LotDecision.REJECTED),
        lots_pending=sum(1 for lot in lots if lot.status in (LotStatus.OPEN, LotStatus.FROZEN)),
        lots_empty=sum(1 for lot in lots if lot.status == LotStatus.EMPTY),
        verdicts=dict(Counter(a.verdict.value for a in final if a.kind == AuditKind.STATISTICAL)),
        targeted_verdicts=dict(Counter(a.verdict.value for a in final if a.kind == AuditKind.TARGETED)),
        findings_by_reason=dict(findings), sla_jobs=counted, sla_met=sla["met"], sla_missed=sla["missed"],
        sla_compliance=round(sla["met"] / counted, 4) if counted else None,
        recent_decisions=[d.value for d in recent[:2]],
    )
    card.flag_reasons = sampling.is_flagged(score, defects, critical=critical, recent_decisions=recent)
    return card


def get_scorecard(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, tz: ZoneInfo | str,
                  date_from: date | None = None, date_to: date | None = None) -> ScoreCard:
    """A point's scorecard (HQ: any point; a manager or technician: their own)."""
    tz, now = _zone(tz), utcnow()
    actor.ensure_point(point_id, f"service point {point_id}")
    date_from, date_to = _period(date_from, date_to, tz, now)
    with uow:
        point = uow.session.get(ServicePoint, point_id)
        if point is None:
            raise NotFound(f"service point {point_id} does not exist")
        return scorecard(uow.session, point, date_from=date_from, date_to=date_to, tz=tz, now=now)


def flagged_points(session: Session, *, tz: ZoneInfo | str, date_from: date | None = None,
                   date_to: date | None = None, now: datetime | None = None) -> list[ScoreCard]:
    """Points in the red band (or with a critical or a recent rejected lot) for HQ review,
    lowest score first. Joins the caller's transaction; the network's point list can use it."""
    tz, now = _zone(tz), now or utcnow()
    date_from, date_to = _period(date_from, date_to, tz, now)
    points = session.scalars(select(ServicePoint).where(ServicePoint.status != AuthorisationStatus.REVOKED)
                             .order_by(ServicePoint.code)).all()
    cards = [scorecard(session, p, date_from=date_from, date_to=date_to, tz=tz, now=now) for p in points]
    flagged = [c for c in cards if c.flagged]
    return sorted(flagged, key=lambda c: (c.score if c.score is not None else 101.0, c.service_point.code))


def list_flagged_points(uow: UnitOfWork, actor: Principal, *, tz: ZoneInfo | str, date_from: date | None = None,
                        date_to: date | None = None) -> list[ScoreCard]:
    """HQ's review list of weak points (admins and reviewers)."""
    actor.require(*REVIEWERS)
    with uow:
        return flagged_points(uow.session, tz=tz, date_from=date_from, date_to=date_to)
