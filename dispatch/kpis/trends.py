"""KPIs as a time series: one entry per ISO week or calendar month (local days), each with the
previous period's figures beside it, for the caller's scope (HQ: the network, a point or a
technician; a manager: their point or one of its technicians).

On top of the report's figures each period carries the repeat repairs (repairs of a unit that
needed another repair within 30 days) and the cost per job done: the parts fitted at the list
price they were fitted at, plus labour at the rate table's amount for the job's type.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_day_span, utcnow, zone
from dispatch.errors import ValidationFailed
from dispatch.jobs.models import Job
from dispatch.kpis import rules
from dispatch.kpis.service import _counts, _Filter, _job_scope, resolve_scope
from dispatch.stock.models import LabourRate, PartUsage
from dispatch.uow import UnitOfWork

Interval = Literal["week", "month"]
MAX_PERIODS = {"week": 26, "month": 24}


@dataclass(frozen=True)
class Period:
    label: str  # "2026-W49" or "2026-11"
    date_from: date
    date_to: date


@dataclass(frozen=True)
class Figures:
    kpis: rules.Kpis
    repeat_repairs: int
    parts_cost_per_job: float | None
    labour_cost_per_job: float | None
    cost_per_job: float | None


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    figures: Figures
    previous: Figures


@dataclass(frozen=True)
class TrendReport:
    interval: str
    service_point_id: object
    technician_id: object
    points: list[TrendPoint]


def periods(interval: Interval, count: int, last_day: date) -> list[Period]:
    """``count`` consecutive periods ending with the one that holds ``last_day``, oldest first."""
    found: list[Period] = []
    if interval == "week":
        monday = last_day - timedelta(days=last_day.weekday())
        for i in range(count - 1, -1, -1):
            start = monday - timedelta(weeks=i)
            year, week, _ = start.isocalendar()
            found.append(Period(f"{year}-W{week:02d}", start, start + timedelta(days=6)))
        return found
    for i in range(count - 1, -1, -1):
        index = last_day.year * 12 + last_day.month - 1 - i
        year, month = divmod(index, 12)
        start = date(year, month + 1, 1)
        found.append(Period(f"{year}-{month + 1:02d}", start,
                            date(year, month + 1, calendar.monthrange(year, month + 1)[1])))
    return found


def _costs(session: Session, f: _Filter) -> tuple[float, float]:
    """Parts (quantity x the list price when fitted) and labour (the rate of the job's type) of the
    jobs done in scope."""
    parts = session.scalar(select(func.coalesce(func.sum(PartUsage.quantity * PartUsage.list_price), 0))
                           .join(Job, Job.id == PartUsage.job_id).where(*_job_scope(f)))
    labour = session.scalar(select(func.coalesce(func.sum(LabourRate.amount), 0))
                            .select_from(Job).join(LabourRate, LabourRate.job_type == Job.type)
                            .where(*_job_scope(f)))
    return float(parts or 0), float(labour or 0)


def figures_of(session: Session, f: _Filter) -> Figures:
    counts = _counts(session, f, None).get(None, rules.KpiCounts())
    parts, labour = _costs(session, f)
    done = counts.jobs_done
    return Figures(kpis=rules.figures(counts), repeat_repairs=counts.repairs_repeated,
                   parts_cost_per_job=rules.ratio(parts, done, 2), labour_cost_per_job=rules.ratio(labour, done, 2),
                   cost_per_job=rules.ratio(parts + labour, done, 2))


def kpi_series(uow: UnitOfWork, actor: Principal, *, interval: Interval, count: int, tz: ZoneInfo | str,
               date_to: date | None = None, service_point: str | None = None,
               technician: str | None = None) -> TrendReport:
    """``count`` periods up to the one holding ``date_to`` (default today), each with the one before."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    if not 1 <= count <= MAX_PERIODS[interval]:
        raise ValidationFailed("periods", f"between 1 and {MAX_PERIODS[interval]} {interval}s")
    tz = zone(tz)
    date_to = date_to or utcnow().astimezone(tz).date()
    with uow:
        session = uow.session
        point, tech = resolve_scope(session, actor, service_point, technician)
        spans = periods(interval, count + 1, date_to)
        computed = []
        for span in spans:
            start, end = local_day_span(span.date_from, span.date_to, tz)
            computed.append(figures_of(session, _Filter(start=start, end=end,
                                                        service_point_id=point.id if point else None,
                                                        technician_id=tech.id if tech else None)))
        return TrendReport(interval=interval, service_point_id=point.id if point else None,
                           technician_id=tech.id if tech else None,
                           points=[TrendPoint(spans[i], computed[i], computed[i - 1]) for i in range(1, len(spans))])
