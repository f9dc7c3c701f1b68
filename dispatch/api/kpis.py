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
from dispatch.api.schemas.kpis import KpiFilterSchema, KpiReportSchema
from dispatch.kpis import rules, service

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
