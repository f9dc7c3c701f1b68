"""Demo monthly evaluations: last month's ranking of the authorised points as HQ recorded it,
the best point rewarded and the last one penalised. Idempotent by (point, month)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.clock import local_day_span, utcnow
from dispatch.kpis.enums import Incentive
from dispatch.kpis.models import PointEvaluation
from dispatch.kpis.service import _Filter, _ranking
from seeds import SeedContext


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    last_day = ctx.today.replace(day=1) - timedelta(days=1)
    first_day, month = last_day.replace(day=1), last_day.strftime("%Y-%m")
    if session.scalar(select(PointEvaluation.id).where(PointEvaluation.month == month).limit(1)):
        return {}
    start, end = local_day_span(first_day, last_day, ctx.tz)
    ranking = _ranking(session, _Filter(start=start, end=end, service_point_id=None, technician_id=None),
                       "service_point")
    admin = session.scalar(select(User.id).where(User.username == "admin"))
    for entry in ranking:
        if entry.rank == 1:
            incentive, amount, note = Incentive.REWARD, Decimal("3000.00"), "best point of the month"
        elif entry.rank == len(ranking):
            incentive, amount, note = Incentive.PENALTY, Decimal("1000.00"), "last of the month: see the scorecard"
        else:
            incentive, amount, note = Incentive.NONE, Decimal("0"), ""
        session.add(PointEvaluation(service_point_id=entry.id, month=month, rank=entry.rank,
                                    ranked_points=len(ranking), score=entry.score, kpis=asdict(entry.kpis),
                                    incentive=incentive, amount=amount, note=note, decided_by=admin,
                                    decided_at=utcnow()))
    return {"point_evaluations": len(ranking)}
