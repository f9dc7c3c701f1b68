"""Key performance indicators, as JSON or CSV (``Accept: text/csv``)."""

from __future__ import annotations

from dataclasses import asdict, fields

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.csv_export import MEDIA_TYPE as CSV
from dispatch.api.csv_export import csv_response
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.kpis import (
    EvaluationCreateSchema,
    EvaluationFilterSchema,
    EvaluationSchema,
    KpiFilterSchema,
    KpiReportSchema,
    KpiSeriesFilterSchema,
    KpiSeriesSchema,
)
from dispatch.kpis import evaluations, rules, service, trends

blp = Blueprint("kpis", __name__, url_prefix="/api/v1/kpis", description="Service KPIs and the ranking of points")

KPI_COLUMNS = [f.name for f in fields(rules.Kpis)]


def kpi_csv(report: service.KpiReport) -> Response:
    """One row for the whole scope, then one per ranked point or technician."""
    period = [report.date_from.isoformat(), report.date_to.isoformat()]
    scope_id = report.technician_id or report.service_point_id
    rows = [[*period, "total", scope_id or "", "", "", "", "", *asdict(report.kpis).values()]]
    rows += [[*period, entry.kind, entry.id, entry.code or "", entry.name, entry.rank,
              "" if entry.score is None else entry.score, *asdict(entry.kpis).values()] for entry in report.ranking]
    filename = f"kpis-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    return csv_response(["from", "to", "scope", "id", "code", "name", "rank", "score", *KPI_COLUMNS], rows,
                        filename=filename)


@blp.route("/")
class Kpis(MethodView):
    @blp.arguments(KpiFilterSchema(), location="query")
    @blp.response(200, KpiReportSchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type=CSV, success=True,
                      description="the same report as CSV (Accept: text/csv)")
    @blp.alt_response(404, schema=ProblemSchema, description="the point or technician is not the caller's to see")
    @blp.alt_response(403, schema=ProblemSchema, description="HQ and managers only")
    def get(self, filters):
        """KPIs over a period of local days (default: the last 30). HQ sees every point and a ranking
        of points; a manager sees their own point and a ranking of its technicians. Send
        `Accept: text/csv` for a spreadsheet (null figures are empty cells)."""
        report = service.kpi_report(unit_of_work(), current_principal(), tz=settings().timezone, **filters)
        if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
            return kpi_csv(report)
        return report


TREND_COLUMNS = [*KPI_COLUMNS, "repeat_repairs", "parts_cost_per_job", "labour_cost_per_job", "cost_per_job"]


def _trend_cells(figures: trends.Figures) -> list:
    return [*asdict(figures.kpis).values(), figures.repeat_repairs, figures.parts_cost_per_job,
            figures.labour_cost_per_job, figures.cost_per_job]


def series_csv(report: trends.TrendReport) -> Response:
    """One row per period: its figures, then the previous period's (``previous_`` columns)."""
    rows = [[p.period.label, p.period.date_from.isoformat(), p.period.date_to.isoformat(),
             *_trend_cells(p.figures), *_trend_cells(p.previous)] for p in report.points]
    header = ["period", "from", "to", *TREND_COLUMNS, *[f"previous_{c}" for c in TREND_COLUMNS]]
    return csv_response(header, rows, filename=f"kpi-{report.interval}s.csv")


@blp.route("/series")
class KpiSeries(MethodView):
    @blp.arguments(KpiSeriesFilterSchema, location="query")
    @blp.response(200, KpiSeriesSchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type=CSV, success=True,
                      description="the same series as CSV (Accept: text/csv)")
    def get(self, filters):
        """KPIs per week or month (first-time fix, SLA, rating, audit pass, complaints per 100
        jobs, repeat repairs, cost per job from parts and labour), each period beside the one
        before; for the network, a point or a technician (a manager: their point's)."""
        report = trends.kpi_series(unit_of_work(), current_principal(), tz=settings().timezone,
                                   count=filters.pop("periods"), **filters)
        if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
            return series_csv(report)
        return report


@blp.route("/evaluations")
class Evaluations(MethodView):
    @blp.arguments(EvaluationFilterSchema, location="query")
    @blp.response(200, EvaluationSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Monthly evaluations, newest month and best rank first (HQ: all; a manager: their point)."""
        items, total = evaluations.list_evaluations(unit_of_work(), current_principal(),
                                                    offset=pagination_parameters.first_item,
                                                    limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(EvaluationCreateSchema)
    @blp.response(201, EvaluationSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the point is already evaluated for that month")
    def post(self, body):
        """HQ (admin) evaluates a point for a finished month: its rank and score among the points
        for that month are computed and stored with the reward or penalty decided."""
        return evaluations.evaluate_point(unit_of_work(), current_principal(), tz=settings().timezone, **body)
