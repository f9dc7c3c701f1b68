"""HQ audits, the lots: weekly lots per point, their seeds, freezing and drawing the samples
(design: SYNC_AUDIT_RELIABILITY.md 2.6). Reviews and verdicts: :mod:`dispatch.audits.review`;
scores: :mod:`dispatch.audits.scorecards`.

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
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.audit_log.models import LogEntry
from dispatch.audits import sampling
from dispatch.audits.models import Audit, AuditKind, AuditLot, AuditLotItem, AuditStatus, LotStatus
from dispatch.audits.sampling import LotWeek, Trigger, Verdict
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow, zone
from dispatch.db import page
from dispatch.errors import NotFound, ValidationFailed
from dispatch.jobs.models import Job
from dispatch.network.models import AuthorisationStatus, ServicePoint, Technician
from dispatch.sop.models import Attachment, Checklist, ChecklistStatus, SopVersion, StepEvidence, StepResult
from dispatch.uow import UnitOfWork

REVIEWERS = (Role.ADMIN, Role.REVIEWER)
"""Who runs HQ audits: draws samples, gives verdicts, adjudicates, sees the flagged points."""


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


def load_checklists(session: Session, checklist_ids: Iterable[uuid.UUID]) -> list[Checklist]:
    return list(session.scalars(
        select(Checklist).where(Checklist.id.in_(list(checklist_ids)))
        # many-to-ones joined into the query that reads their parent; collections one query each
        .options(selectinload(Checklist.results).selectinload(StepResult.evidence)
                 .joinedload(StepEvidence.attachment),
                 joinedload(Checklist.template_version).selectinload(SopVersion.steps),
                 joinedload(Checklist.template_version).joinedload(SopVersion.template),
                 joinedload(Checklist.job).joinedload(Job.product))
    ).all())


def jobs_by_photo(session: Session, hashes: Iterable[str]) -> dict[str, set[uuid.UUID]]:
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
    photo_jobs = jobs_by_photo(session, (link.attachment.sha256 for c in checklists for r in c.results
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
    facts = {c.id: c for c in load_checklists(session, [i.checklist_id for i in items])}
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


def decide(session: Session, lot: AuditLot, *, now: datetime) -> bool:
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
    tz, now = zone(tz), now or utcnow()
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
        report.lots_decided += int(decide(session, lot, now=now))
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
        return page(uow.session, query.options(selectinload(AuditLot.service_point))
                    .order_by(AuditLot.iso_year.desc(), AuditLot.iso_week.desc(), AuditLot.id),
                    offset=offset, limit=limit)


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


