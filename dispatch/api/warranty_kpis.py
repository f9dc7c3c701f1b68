"""Warranty KPIs: top fault causes per model and per point, and claim outcomes and rejections."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.warranty import ReportRangeSchema, WarrantyKpisSchema
from dispatch.kpis import warranty as service

blp = Blueprint("warranty_kpis", __name__, url_prefix="/api/v1/kpis/warranty", description="Warranty KPIs")


@blp.route("/")
class WarrantyKpis(MethodView):
    @blp.arguments(ReportRangeSchema(), location="query")
    @blp.response(200, WarrantyKpisSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="technicians do not see KPIs")
    def get(self, query):
        """Top fault causes per model and per point (with the misuse share) by completion day, and claim
        outcomes with rejections by reason by job date (HQ: every point; a manager: their own)."""
        return service.warranty_kpis(unit_of_work(), current_principal(), date_from=query["from_"],
                                     date_to=query["to"], tz=settings().timezone, limit=query["limit"])
