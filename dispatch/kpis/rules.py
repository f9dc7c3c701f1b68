"""Pure KPI maths: the database returns sums and counts, these functions turn them into rates,
means and a ranking. A figure whose denominator is zero is ``None`` (no data), never 0."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

FIRST_TIME_FIX_DAYS = 30
"""A repair counts as fixed first time when no other repair of the same unit is reported within
this many days of its completion."""


@dataclass(frozen=True)
class KpiCounts:
    """Raw aggregates for one scope (everything, one point or one technician) and period."""

    jobs_done: int = 0
    repairs_done: int = 0
    repairs_repeated: int = 0
    sla_jobs: int = 0  # done jobs that had an SLA due time
    sla_met: int = 0  # ... whose technician was on site by then
    travel_jobs: int = 0
    travel_s: float = 0.0  # sum over travel_jobs of (on site - en route)
    on_site_jobs: int = 0
    on_site_s: float = 0.0  # sum over on_site_jobs of (completed - on site)
    standard_minutes: int = 0  # sum over on_site_jobs of the model's standard minutes for the job type
    ratings: int = 0
    rating_sum: int = 0
    audits: int = 0
    audits_passed: int = 0  # final verdicts of the statistical sample that were not defective
    complaints: int = 0


@dataclass(frozen=True)
class Kpis:
    jobs_done: int
    first_time_fix_rate: float | None
    sla_compliance: float | None
    mean_travel_minutes: float | None
    mean_on_site_minutes: float | None
    mean_standard_minutes: float | None
    on_site_vs_standard: float | None  # total on-site time / total standard time (1.0 = on standard)
    rating_average: float | None
    rating_count: int
    audit_pass_rate: float | None
    audits: int
    complaints: int
    complaints_per_100_jobs: float | None


def ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, digits)


def figures(counts: KpiCounts) -> Kpis:
    """The KPIs of one scope."""
    c = counts
    return Kpis(
        jobs_done=c.jobs_done,
        first_time_fix_rate=ratio(c.repairs_done - c.repairs_repeated, c.repairs_done),
        sla_compliance=ratio(c.sla_met, c.sla_jobs),
        mean_travel_minutes=ratio(c.travel_s / 60, c.travel_jobs, 1),
        mean_on_site_minutes=ratio(c.on_site_s / 60, c.on_site_jobs, 1),
        mean_standard_minutes=ratio(c.standard_minutes, c.on_site_jobs, 1),
        on_site_vs_standard=ratio(c.on_site_s / 60, c.standard_minutes, 3),
        rating_average=ratio(c.rating_sum, c.ratings, 2),
        rating_count=c.ratings,
        audit_pass_rate=ratio(c.audits_passed, c.audits),
        audits=c.audits,
        complaints=c.complaints,
        complaints_per_100_jobs=ratio(100 * c.complaints, c.jobs_done, 2),
    )


def score(kpis: Kpis) -> float | None:
    """One number to rank by, 0-100: the mean of the quality rates that have data.

    SLA compliance, first-time fix, rating ((average - 1) / 4) and audit pass rate weigh the
    same; complaints take off their rate per 100 jobs (capped so the score stays >= 0).
    """
    parts = [kpis.sla_compliance, kpis.first_time_fix_rate, kpis.audit_pass_rate,
             None if kpis.rating_average is None else (kpis.rating_average - 1) / 4]
    known = [p for p in parts if p is not None]
    if not known:
        return None
    base = 100 * sum(known) / len(known)
    penalty = kpis.complaints_per_100_jobs or 0.0
    return round(max(base - penalty, 0.0), 1)


K = TypeVar("K")


@dataclass(frozen=True)
class Ranked(Generic[K]):
    key: K
    rank: int
    score: float | None
    kpis: Kpis


def rank(entries: Iterable[tuple[K, Kpis]]) -> list[Ranked[K]]:
    """Best score first; no score (no data) last; ties share a rank (1, 2, 2, 4)."""
    scored = [(key, kpis, score(kpis)) for key, kpis in entries]
    scored.sort(key=lambda e: (e[2] is None, -(e[2] or 0.0), -e[1].jobs_done))
    ranked: list[Ranked[K]] = []
    for position, (key, kpis, value) in enumerate(scored, start=1):
        tied = ranked and ranked[-1].score == value and value is not None
        ranked.append(Ranked(key=key, rank=ranked[-1].rank if tied else position, score=value, kpis=kpis))
    return ranked
