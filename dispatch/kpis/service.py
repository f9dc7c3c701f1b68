"""KPI report: aggregates computed in SQL, turned into figures by :mod:`dispatch.kpis.rules`.

The period is a range of local days; a job counts in the period it was completed in, a complaint
in the period it was received in. Ratings and HQ audits count with their job.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.care.models import Complaint, Rating
from dispatch.clock import local_day_span, utcnow, zone
from dispatch.errors import NotFound, ValidationFailed
from dispatch.jobs.models import Job, JobEvent, JobStatus
from dispatch.kpis import rules
from dispatch.kpis.sql import seconds_between
from dispatch.network.models import AuthorisationStatus, JobType, Product, ServicePoint, Technician
from dispatch.audits import sampling
from dispatch.audits.models import Audit, AuditKind, AuditStatus
from dispatch.uow import UnitOfWork

MAX_PERIOD_DAYS = 366
DONE = (JobStatus.COMPLETED, JobStatus.CLOSED)

Group = Literal["service_point", "technician"] | None


@dataclass(frozen=True)
class RankingEntry:
    kind: str  # "service_point" or "technician"
    id: uuid.UUID
    code: str | None
    name: str
    rank: int
    score: float | None
    kpis: rules.Kpis


@dataclass(frozen=True)
class KpiReport:
    date_from: date
    date_to: date
    service_point_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    kpis: rules.Kpis
    ranking_of: str | None
    ranking: list[RankingEntry]


@dataclass(frozen=True)
class _Filter:
    start: datetime
    end: datetime
    service_point_id: uuid.UUID | None
    technician_id: uuid.UUID | None


def _job_key(group: Group):
    return {"service_point": Job.service_point_id, "technician": Job.technician_id}.get(group) if group else None


def _job_scope(f: _Filter) -> list[Any]:
    conditions = [Job.status.in_(DONE), Job.completed_at >= f.start, Job.completed_at < f.end]
    if f.service_point_id is not None:
        conditions.append(Job.service_point_id == f.service_point_id)
    if f.technician_id is not None:
        conditions.append(Job.technician_id == f.technician_id)
    return conditions


def _grouped(query, key):
    return query.add_columns(key.label("key")).group_by(key) if key is not None else query


def _rows(session: Session, query, key) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(_grouped(query, key))]


def _one(flag) -> Any:
    return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)


def _job_counts(session: Session, f: _Filter, group: Group) -> list[dict[str, Any]]:
    """Jobs done, repairs done and repeated within the first-time-fix window, SLA kept."""
    repeat = aliased(Job)
    repeated = (
        select(repeat.id)
        .where(repeat.unit_id == Job.unit_id, repeat.id != Job.id, repeat.type == JobType.REPAIR,
               repeat.status != JobStatus.CANCELLED, repeat.reported_at > Job.completed_at,
               seconds_between(repeat.reported_at, Job.completed_at) <= rules.FIRST_TIME_FIX_DAYS * 86400)
        .exists()
    )
    is_repair = and_(Job.type == JobType.REPAIR, Job.unit_id.is_not(None))
    has_sla = Job.sla_due_at.is_not(None)
    query = select(
        func.count(Job.id).label("jobs_done"),
        _one(is_repair).label("repairs_done"),
        _one(and_(is_repair, repeated)).label("repairs_repeated"),
        _one(has_sla).label("sla_jobs"),
        _one(and_(has_sla, Job.arrived_at.is_not(None), Job.arrived_at <= Job.sla_due_at)).label("sla_met"),
    ).where(*_job_scope(f))
    return _rows(session, query, _job_key(group))


def _time_counts(session: Session, f: _Filter, group: Group) -> list[dict[str, Any]]:
    """Travel (last en route before the first on site -> that on site) and on-site time (first on
    site -> first completed), from the times the job events happened (the phone's clock, never
    after the server received them: work pushed after a while offline counts when it was done),
    against the model's standard."""
    scope = _job_scope(f)
    firsts = (
        select(JobEvent.job_id.label("job_id"),
               func.min(case((JobEvent.to_status == JobStatus.ON_SITE, JobEvent.moment))).label("on_site_at"),
               func.min(case((JobEvent.to_status == JobStatus.COMPLETED, JobEvent.moment))).label("completed_at"))
        .join(Job, Job.id == JobEvent.job_id).where(*scope)
        .group_by(JobEvent.job_id)
        .subquery("firsts")
    )
    departed = (
        select(JobEvent.job_id.label("job_id"), func.max(JobEvent.moment).label("en_route_at"))
        .join(firsts, firsts.c.job_id == JobEvent.job_id)
        .where(JobEvent.to_status == JobStatus.EN_ROUTE, JobEvent.moment <= firsts.c.on_site_at)
        .group_by(JobEvent.job_id)
        .subquery("departed")
    )
    travel_s = seconds_between(firsts.c.on_site_at, departed.c.en_route_at)
    on_site_s = seconds_between(firsts.c.completed_at, firsts.c.on_site_at)
    has_travel = departed.c.en_route_at.is_not(None)
    has_on_site = and_(firsts.c.on_site_at.is_not(None), firsts.c.completed_at.is_not(None),
                       firsts.c.completed_at >= firsts.c.on_site_at)
    standard = func.coalesce(
        case(*[(Job.type == t, Product.standard_minutes[t.value].as_integer()) for t in JobType]), 60
    )
    query = (
        select(
            _one(has_travel).label("travel_jobs"),
            func.coalesce(func.sum(case((has_travel, travel_s), else_=0.0)), 0.0).label("travel_s"),
            _one(has_on_site).label("on_site_jobs"),
            func.coalesce(func.sum(case((has_on_site, on_site_s), else_=0.0)), 0.0).label("on_site_s"),
            func.coalesce(func.sum(case((has_on_site, standard), else_=0)), 0).label("standard_minutes"),
        )
        .select_from(Job)
        .join(firsts, firsts.c.job_id == Job.id)
        .outerjoin(departed, departed.c.job_id == Job.id)
        .join(Product, Product.id == Job.product_id)
        .where(*scope)
    )
    return _rows(session, query, _job_key(group))


def _rating_counts(session: Session, f: _Filter, group: Group) -> list[dict[str, Any]]:
    query = (
        select(func.count(Rating.id).label("ratings"), func.coalesce(func.sum(Rating.score), 0).label("rating_sum"))
        .join(Job, Job.id == Rating.job_id).where(*_job_scope(f))
    )
    return _rows(session, query, _job_key(group))


def _audit_counts(session: Session, f: _Filter, group: Group) -> list[dict[str, Any]]:
    """HQ spot-checks of the jobs' checklists: final verdicts of the random (statistical) sample;
    targeted reviews are picked for risk and would bias the rate. Pass = not a defective verdict."""
    passed = Audit.verdict.not_in(sorted(sampling.DEFECTIVE))
    query = (
        select(func.count(Audit.id).label("audits"), _one(passed).label("audits_passed"))
        .join(Job, Job.id == Audit.job_id)
        .where(*_job_scope(f), Audit.status == AuditStatus.FINAL, Audit.kind == AuditKind.STATISTICAL)
    )
    return _rows(session, query, _job_key(group))


def _complaint_counts(session: Session, f: _Filter, group: Group) -> list[dict[str, Any]]:
    """Complaints received in the period about the scope (a technician: about their jobs)."""
    query = select(func.count(Complaint.id).label("complaints")).where(
        Complaint.received_at >= f.start, Complaint.received_at < f.end)
    if f.service_point_id is not None:
        query = query.where(Complaint.service_point_id == f.service_point_id)
    key = Complaint.service_point_id if group == "service_point" else None
    if f.technician_id is not None or group == "technician":
        query = query.join(Job, Job.id == Complaint.job_id)
        if f.technician_id is not None:
            query = query.where(Job.technician_id == f.technician_id)
        if group == "technician":
            key = Job.technician_id
    return _rows(session, query, key)


def _counts(session: Session, f: _Filter, group: Group) -> dict[uuid.UUID | None, rules.KpiCounts]:
    merged: dict[uuid.UUID | None, dict[str, Any]] = defaultdict(dict)
    for part in (_job_counts, _time_counts, _rating_counts, _audit_counts, _complaint_counts):
        for row in part(session, f, group):
            key = row.pop("key", None)
            merged[key].update({k: v or 0 for k, v in row.items()})
    return {key: rules.KpiCounts(**{k: (float(v) if k.endswith("_s") else int(v)) for k, v in values.items()})
            for key, values in merged.items()}


# --- scope resolution ------------------------------------------------------------------------


def _point(session: Session, actor: Principal, ref: str | None) -> ServicePoint | None:
    if ref is None:
        return session.get(ServicePoint, actor.service_point_id) if not actor.is_hq else None
    try:
        point = session.get(ServicePoint, uuid.UUID(ref))
    except ValueError:
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == ref.upper()))
    if point is None or not actor.sees_point(point.id):
        raise NotFound(f"service point {ref} does not exist")
    return point


def _technician(session: Session, actor: Principal, ref: str | None) -> Technician | None:
    if ref is None:
        return None
    try:
        technician = session.get(Technician, uuid.UUID(ref))
    except ValueError:
        technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                    .where(User.username == ref))
    if technician is None or not actor.sees_point(technician.service_point_id):
        raise NotFound(f"technician {ref} does not exist")
    return technician


def _ranking(session: Session, f: _Filter, group: Group) -> list[RankingEntry]:
    counts = _counts(session, f, group)
    names: dict[uuid.UUID, tuple[str | None, str]]
    if group == "service_point":
        points = session.scalars(select(ServicePoint).where(
            (ServicePoint.status == AuthorisationStatus.ACTIVE) | ServicePoint.id.in_([k for k in counts if k])))
        names = {p.id: (p.code, p.name) for p in points}
    else:
        technicians = session.scalars(select(Technician).where(
            Technician.service_point_id == f.service_point_id,
            Technician.active.is_(True) | Technician.id.in_([k for k in counts if k])))
        names = {t.id: (None, t.name) for t in technicians}
    entries = [(key, rules.figures(counts.get(key, rules.KpiCounts()))) for key in names]
    return [RankingEntry(kind=group or "", id=r.key, code=names[r.key][0], name=names[r.key][1], rank=r.rank,
                         score=r.score, kpis=r.kpis)
            for r in rules.rank(entries)]


def kpi_report(uow: UnitOfWork, actor: Principal, *, date_from: date | None = None, date_to: date | None = None,
               service_point: str | None = None, technician: str | None = None,
               tz: ZoneInfo | str) -> KpiReport:
    """KPIs of the caller's scope over ``date_from``..``date_to`` (local days, inclusive; default:
    the last 30 days). HQ without a point gets the ranking of points; a point's view (a manager's,
    or HQ naming a point) ranks that point's technicians."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    tz = zone(tz)
    date_to = date_to or utcnow().astimezone(tz).date()
    date_from = date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise ValidationFailed("from", "must not be after to")
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed("from", f"the period is at most {MAX_PERIOD_DAYS} days")
    with uow:
        session = uow.session
        point = _point(session, actor, service_point)
        tech = _technician(session, actor, technician)
        if point is not None and tech is not None and tech.service_point_id != point.id:
            raise ValidationFailed("technician", f"the technician does not work for {point.code}")
        start, end = local_day_span(date_from, date_to, tz)
        f = _Filter(start=start, end=end,
                    service_point_id=point.id if point else None, technician_id=tech.id if tech else None)
        total = _counts(session, f, None).get(None, rules.KpiCounts())
        group: Group = None
        if tech is None:
            group = "technician" if point is not None else "service_point"
        ranking = _ranking(session, f, group) if group else []
        return KpiReport(
            date_from=date_from, date_to=date_to, service_point_id=f.service_point_id, technician_id=f.technician_id,
            kpis=rules.figures(total), ranking_of=group, ranking=ranking,
        )
