"""Warranty KPIs: the top fault causes per model and per point (with the misuse share), and claim
outcomes with the rejections by reason, over a period of local days (repairs by completion day,
claims by job date). HQ sees every point; a manager their own."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.errors import ValidationFailed
from dispatch.jobs.models import Job
from dispatch.network.models import Product, ServicePoint
from dispatch.stock.models import ClaimStatus, WarrantyClaim
from dispatch.uow import UnitOfWork
from dispatch.warranty.enums import FaultKind
from dispatch.warranty.models import FaultCause, JobFaultCause

MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class CauseCount:
    code: str
    component: str
    cause: str
    kind: str
    repairs: int


@dataclass
class CauseGroup:
    key: str  # the model's SKU or the point's code
    name: str
    repairs: int = 0
    misuse: int = 0
    top: list[CauseCount] = field(default_factory=list)


@dataclass
class ClaimOutcome:
    key: str  # a point's code, or "total"
    claims: int = 0
    submitted: int = 0
    held: int = 0
    approved: int = 0
    rejected: int = 0
    rejected_amount: Decimal = Decimal("0.00")
    rejections: dict[str, int] = field(default_factory=dict)  # by rejection code


@dataclass(frozen=True)
class WarrantyKpis:
    date_from: date
    date_to: date
    service_point_id: uuid.UUID | None
    by_model: list[CauseGroup]
    by_point: list[CauseGroup]
    claims: ClaimOutcome
    claims_by_point: list[ClaimOutcome]


def _groups(rows, names: dict, limit: int) -> list[CauseGroup]:
    groups: dict[str, CauseGroup] = {}
    counts: dict[str, list[CauseCount]] = defaultdict(list)
    for key, code, component, cause, kind, n in rows:
        group = groups.setdefault(key, CauseGroup(key=key, name=names.get(key, "")))
        group.repairs += n
        group.misuse += n if kind == FaultKind.MISUSE else 0
        counts[key].append(CauseCount(code, component, cause, kind.value, n))
    for key, group in groups.items():
        group.top = sorted(counts[key], key=lambda c: (-c.repairs, c.code))[:limit]
    return sorted(groups.values(), key=lambda g: (-g.repairs, g.key))


def warranty_kpis(uow: UnitOfWork, actor: Principal, *, date_from: date, date_to: date, tz: ZoneInfo | str,
                  limit: int = 5) -> WarrantyKpis:
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    if date_from > date_to:
        raise ValidationFailed("from", "must not be after to")
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed("from", f"the period is at most {MAX_PERIOD_DAYS} days")
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    point_id = None if actor.is_hq else actor.service_point_id
    with uow:
        session = uow.session
        repairs = (select(FaultCause.code, FaultCause.component, FaultCause.cause, FaultCause.kind,
                          func.count().label("n"))
                   .select_from(JobFaultCause).join(FaultCause, FaultCause.id == JobFaultCause.fault_cause_id)
                   .join(Job, Job.id == JobFaultCause.job_id)
                   .where(Job.completed_at >= start, Job.completed_at < end))
        if point_id is not None:
            repairs = repairs.where(Job.service_point_id == point_id)
        per_cause = (FaultCause.code, FaultCause.component, FaultCause.cause, FaultCause.kind)
        by_model = session.execute(repairs.add_columns(Product.sku.label("key")).join(Product, Product.id == Job.product_id)
                                   .group_by(Product.sku, *per_cause)).all()
        by_point = session.execute(repairs.add_columns(ServicePoint.code.label("key"))
                                   .join(ServicePoint, ServicePoint.id == Job.service_point_id)
                                   .group_by(ServicePoint.code, *per_cause)).all()
        products = dict(session.execute(select(Product.sku, Product.name)).all())
        points = dict(session.execute(select(ServicePoint.code, ServicePoint.name)).all())
        reorder = lambda rows: [(r.key, r.code, r.component, r.cause, r.kind, r.n) for r in rows]  # noqa: E731

        claims = (select(ServicePoint.code, WarrantyClaim.status, WarrantyClaim.rejection_code,
                         func.count(), func.coalesce(func.sum(WarrantyClaim.amount), 0))
                  .join(ServicePoint, ServicePoint.id == WarrantyClaim.service_point_id)
                  .where(WarrantyClaim.job_date >= start, WarrantyClaim.job_date < end)
                  .group_by(ServicePoint.code, WarrantyClaim.status, WarrantyClaim.rejection_code))
        if point_id is not None:
            claims = claims.where(WarrantyClaim.service_point_id == point_id)
        total, per_point = ClaimOutcome("total"), {}
        for code, status, rejection, n, amount in session.execute(claims):
            for outcome in (total, per_point.setdefault(code, ClaimOutcome(code))):
                outcome.claims += n
                setattr(outcome, status.value, getattr(outcome, status.value) + n)
                if status == ClaimStatus.REJECTED:
                    outcome.rejected_amount += Decimal(amount)
                    outcome.rejections[rejection.value] = outcome.rejections.get(rejection.value, 0) + n
        return WarrantyKpis(date_from=date_from, date_to=date_to, service_point_id=point_id,
                            by_model=_groups(reorder(by_model), products, limit),
                            by_point=_groups(reorder(by_point), points, limit),
                            claims=total, claims_by_point=sorted(per_point.values(), key=lambda o: o.key))
