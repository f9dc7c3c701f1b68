"""HQ audits, the scores: a point's scorecard over a period and the points flagged for review.

Scores are computed on read from final verdicts of statistical audits, so they never drift.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.audits import sampling
from dispatch.audits.lots import REVIEWERS
from dispatch.audits.models import Audit, AuditKind, AuditLot, AuditStatus, LotStatus
from dispatch.audits.sampling import LotDecision, Verdict
from dispatch.auth.principal import Principal
from dispatch.clock import local_day_span, utcnow, zone
from dispatch.errors import NotFound, ValidationFailed
from dispatch.jobs import rules as job_rules
from dispatch.jobs.models import Job
from dispatch.network.models import AuthorisationStatus, ServicePoint
from dispatch.uow import UnitOfWork

DEFAULT_PERIOD_DAYS = 182  # scorecards look at half a year unless told otherwise


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


def scorecard(session: Session, point: ServicePoint, *, date_from: date, date_to: date, tz: ZoneInfo,
              now: datetime) -> ScoreCard:
    """A point's quality over a period (helper: joins the caller's transaction).

    The score uses the statistical audits' final verdicts in the last 8 decided lots of the
    period; lots, verdicts and findings are counted over the whole period; SLA compliance is
    over the jobs due in the period whose clock has stopped or run out.
    """
    start, end = local_day_span(date_from, date_to, tz)
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
    tz, now = zone(tz), utcnow()
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
    tz, now = zone(tz), now or utcnow()
    date_from, date_to = _period(date_from, date_to, tz, now)
    points = session.scalars(select(ServicePoint).where(ServicePoint.status != AuthorisationStatus.REVOKED)
                             .order_by(ServicePoint.code)).all()
    cards = [scorecard(session, p, date_from=date_from, date_to=date_to, tz=tz, now=now) for p in points]
    flagged = [c for c in cards if c.flagged]
    return sorted(flagged, key=lambda c: (c.score if c.score is not None else 101.0, c.service_point.code))


def flagged_point_ids(uow: UnitOfWork, *, tz: ZoneInfo | str) -> set[uuid.UUID]:
    """The ids of the points flagged now, for the network's ``?flagged=`` filter of the point list
    (which scopes the list to the caller itself)."""
    with uow:
        return {card.service_point.id for card in flagged_points(uow.session, tz=tz)}


def list_flagged_points(uow: UnitOfWork, actor: Principal, *, tz: ZoneInfo | str, date_from: date | None = None,
                        date_to: date | None = None) -> list[ScoreCard]:
    """HQ's review list of weak points (admins and reviewers)."""
    actor.require(*REVIEWERS)
    with uow:
        return flagged_points(uow.session, tz=tz, date_from=date_from, date_to=date_to)
