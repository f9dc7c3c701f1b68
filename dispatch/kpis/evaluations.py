"""Monthly evaluation of service points (rewards and penalties): HQ (admin) evaluates a point for
a finished month; the point's rank among the network's points, its score and KPIs for the month
are computed then and stored with the reward or penalty HQ decided (and its amount). Once per
point and month; logged. Managers read their own point's evaluations."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_day_span, utcnow, zone
from dispatch.db import page
from dispatch.errors import Conflict, ValidationFailed
from dispatch.kpis.enums import Incentive
from dispatch.kpis.models import PointEvaluation
from dispatch.kpis.service import _Filter, _ranking
from dispatch.kpis.trends import periods
from dispatch.network.models import ServicePoint
from dispatch.uow import UnitOfWork


def _month(label: str) -> tuple[date, date]:
    year, _, month = label.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12 and 2000 <= int(year) <= 2199):
        raise ValidationFailed("month", "a month like 2026-11")
    [span] = periods("month", 1, date(int(year), int(month), 1))
    return span.date_from, span.date_to


def evaluate_point(uow: UnitOfWork, actor: Principal, *, service_point_id: uuid.UUID, month: str,
                   incentive: Incentive, amount: Decimal, note: str, tz: ZoneInfo | str) -> PointEvaluation:
    actor.require(Role.ADMIN)
    tz = zone(tz)
    first, last = _month(month)
    if last >= utcnow().astimezone(tz).date():
        raise ValidationFailed("month", "only a finished month is evaluated")
    if incentive == Incentive.NONE and amount != 0:
        raise ValidationFailed("amount", "no reward or penalty: the amount is 0")
    if incentive != Incentive.NONE and amount <= 0:
        raise ValidationFailed("amount", f"say the amount of the {incentive.value}")
    with uow:
        session = uow.session
        point = session.get(ServicePoint, service_point_id)
        if point is None:
            raise ValidationFailed("service_point_id", f"no service point has the id {service_point_id}")
        if session.scalar(select(PointEvaluation.id).where(PointEvaluation.service_point_id == point.id,
                                                           PointEvaluation.month == month)) is not None:
            raise Conflict(f"{point.code} is already evaluated for {month}")
        start, end = local_day_span(first, last, tz)
        ranking = _ranking(session, _Filter(start=start, end=end, service_point_id=None, technician_id=None),
                           "service_point")
        entry = next((e for e in ranking if e.id == point.id), None)
        if entry is None:
            raise ValidationFailed("service_point_id", f"{point.code} was not ranked in {month} (not active)")
        evaluation = PointEvaluation(service_point=point, month=month, rank=entry.rank, ranked_points=len(ranking),
                                     score=entry.score, kpis=asdict(entry.kpis), incentive=incentive, amount=amount,
                                     note=note, decided_by=None if actor.user_id.int == 0 else actor.user_id,
                                     decided_at=utcnow())
        session.add(evaluation)
        session.flush()
        audit_log.append(session, kind="kpis.evaluation", subject_id=point.id, actor_id=evaluation.decided_by,
                         payload={"service_point_id": str(point.id), "month": month, "rank": entry.rank,
                                  "of": len(ranking), "score": entry.score, "incentive": incentive.value,
                                  "amount": str(amount), "note": note})
        uow.commit()
    return evaluation


def list_evaluations(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, month: str | None = None,
                     service_point_id: uuid.UUID | None = None) -> tuple[list[PointEvaluation], int]:
    """Newest month first, best rank first (HQ: every point; a manager: their own)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    query = select(PointEvaluation)
    if not actor.is_hq:
        query = query.where(PointEvaluation.service_point_id == actor.service_point_id)
    if month is not None:
        _month(month)
        query = query.where(PointEvaluation.month == month)
    if service_point_id is not None:
        query = query.where(PointEvaluation.service_point_id == service_point_id)
    with uow:
        return page(uow.session, query.order_by(PointEvaluation.month.desc(), PointEvaluation.rank,
                                                PointEvaluation.id), offset=offset, limit=limit)
