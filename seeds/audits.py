"""Demo spot-checks: four weeks of completed SOP checklists at a good point (HZ01) and a weak one
(SZ02), the audit cycle replayed week by week (lots opened, frozen, sampled), reviewers' verdicts
in line with each point's quality, so that the scorecards and the flagged list say something.
Half of the newest frozen lot is left unreviewed: it is what the review queue shows.

Deterministic: lot ids and seeds derive from (point, week), verdicts from the job reference.
Idempotent: history jobs that already have a checklist are skipped, lots and samples are found
by their natural keys, and only unreviewed audits of older lots get a verdict.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import ServicePoint
from dispatch.audits import lots, review, sampling
from dispatch.sop import checklists
from dispatch.audits.models import Audit, AuditLot, AuditLotItem, AuditStatus, AuditVerdict
from dispatch.sop.models import Checklist, SopStep
from dispatch.sop.rules import StepKind
from dispatch.sop.storage import LocalEvidenceStore
from seeds import SeedContext
from seeds import sop as sop_seeds

POINTS = {"HZ01": 0.93, "SZ02": 0.6}  # chance that a sampled checklist is conforming
WEEKS = 4
PER_WEEK = 3  # checklists per point and week: lots small enough to be inspected completely
NAMESPACE = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5")
MINOR = {"code": "other", "note": "the photos are blurred; the labels cannot be read"}
MAJOR_NOTE = "the photo does not show what the step asks for"


def demo_identity(point_id: uuid.UUID, week: sampling.LotWeek) -> tuple[uuid.UUID, bytes]:
    """Reproducible lot ids and seeds for the demo (production draws them at random)."""
    key = f"{point_id}:{week.label}"
    return uuid.uuid5(NAMESPACE, key), hashlib.sha256(f"demo-audit-seed:{key}".encode()).digest()


def _verdict(job: Job, quality: float) -> str:
    roll = random.Random(f"audits:{job.reference}").random()
    if roll < quality:
        return "conforming"
    return "major" if roll < quality + (1 - quality) * 2 / 3 else "minor"


def seed(ctx: SeedContext) -> dict[str, int]:
    session, now, added = ctx.session, utcnow(), {}
    this_week = sampling.lot_week_of(now, ctx.tz)
    first_week = sampling.lot_week_of(this_week.starts_at - timedelta(weeks=WEEKS), ctx.tz)
    points = {p.code: p for p in session.scalars(select(ServicePoint).where(ServicePoint.code.in_(POINTS)))}

    # 1. the technicians' checklists for (at most PER_WEEK of) the history jobs of those weeks
    rows = session.execute(
        select(Job, Checklist.id).outerjoin(Checklist, Checklist.job_id == Job.id)
        .where(Job.reference.like("H-%"), Job.service_point_id.in_([p.id for p in points.values()]),
               Job.status.in_((JobStatus.COMPLETED, JobStatus.CLOSED)), Job.completed_at >= first_week.starts_at,
               Job.completed_at < this_week.starts_at, Job.technician_id.is_not(None))
        .order_by(Job.reference)
    ).all()
    per_week: dict[tuple[uuid.UUID, str], int] = {}
    jobs = []
    for job, checklist_id in rows:
        key = (job.service_point_id, sampling.lot_week_of(job.completed_at, ctx.tz).label)
        per_week[key] = per_week.get(key, 0) + 1
        if per_week[key] <= PER_WEEK and checklist_id is None:
            jobs.append(job)
    store = LocalEvidenceStore(ctx.settings.upload_dir, durable=False)
    for job in jobs:
        if checklists.open_for_job(session, job) is None:
            continue
        session.flush()
        with session.no_autoflush:
            results, photos = sop_seeds._work_through(ctx, store, job)  # the technician's steps, as seeds.sop
        session.flush()
        for name, n in (("checklists", 1), ("checklist_step_results", results), ("attachments", photos)):
            added[name] = added.get(name, 0) + n

    # 2. the audit cycle as it ran each week, with the reviewers' verdicts a day after each draw
    reviewer = session.scalar(select(User).where(User.username == "reviewer"))
    actor = Principal(user_id=reviewer.id, username=reviewer.username, role=Role.REVIEWER)
    quality = {p.id: POINTS[code] for code, p in points.items()}
    before = _counts(session)
    week = first_week
    lots.run_audit_cycle(session, tz=ctx.tz, now=week.starts_at + timedelta(hours=1), identity=demo_identity)
    while week.freezes_at <= now:
        lots.run_audit_cycle(session, tz=ctx.tz, now=week.freezes_at + timedelta(hours=1), identity=demo_identity)
        newest = week.next(ctx.tz).freezes_at > now  # half of it stays in the review queue
        _review(session, actor, week, quality, at=min(now, week.freezes_at + timedelta(days=1)), half=newest)
        week = week.next(ctx.tz)
    lots.run_audit_cycle(session, tz=ctx.tz, now=now, identity=demo_identity)
    for name, n in _counts(session).items():
        if n - before[name]:
            added[name] = n - before[name]
    return added


def _review(session, actor: Principal, week: sampling.LotWeek, quality: dict[uuid.UUID, float], *, at,
            half: bool) -> None:
    """Verdicts for the week's audits at the demo points (the first half by job reference only,
    for the newest lot); audits that already have one are left alone."""
    rows = session.execute(
        select(Audit.id, Audit.service_point_id, Audit.status, Job).join(AuditLot, AuditLot.id == Audit.lot_id)
        .join(Job, Job.id == Audit.job_id)
        .where(AuditLot.iso_year == week.iso_year, AuditLot.iso_week == week.iso_week,
               AuditLot.service_point_id.in_(list(quality)))
        .order_by(Job.reference)
    ).all()
    by_point: dict[uuid.UUID, list] = {}
    for row in rows:
        by_point.setdefault(row.service_point_id, []).append(row)
    for point_id, items in by_point.items():
        for audit_id, _, status, job in items[: (len(items) + 1) // 2] if half else items:
            if status != AuditStatus.OPEN:
                continue
            verdict = _verdict(job, quality[point_id])
            findings = {"conforming": [], "minor": [MINOR],
                        "major": [{"step_key": _photo_step(session, audit_id), "code": "evidence_mismatch",
                                   "note": MAJOR_NOTE}]}[verdict]
            review.record_verdict(session, actor, audit_id, verdict=verdict, findings=findings, note="demo review",
                                  now=at)


def _photo_step(session, audit_id: uuid.UUID) -> str | None:
    """The first photo step of the audited checklist's SOP version (where a major is found)."""
    return session.scalar(
        select(SopStep.key).join(Checklist, Checklist.template_version_id == SopStep.version_id)
        .join(Audit, Audit.checklist_id == Checklist.id)
        .where(Audit.id == audit_id, SopStep.kind == StepKind.PHOTO).order_by(SopStep.position).limit(1))


def _counts(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (AuditLot, AuditLotItem, Audit, AuditVerdict)}
