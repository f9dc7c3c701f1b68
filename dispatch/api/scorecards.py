"""Service point scorecards from HQ spot-checks (the point resources themselves belong to the
network blueprint; this blueprint only adds the scorecard beneath them)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.schemas.audits import ScorecardQuerySchema, ScorecardSchema
from dispatch.audits import scorecards as service

blp = Blueprint("scorecards", __name__, url_prefix="/api/v1", description="Service point quality scorecards")


@blp.route("/service-points/<uuid:point_id>/scorecard")
class Scorecard(MethodView):
    @blp.arguments(ScorecardQuerySchema(), location="query")
    @blp.response(200, ScorecardSchema)
    def get(self, args, point_id):
        """Quality score (last 8 decided lots), lots accepted/rejected, findings by reason and SLA
        compliance over ``from``..``to`` (HQ: any point; a manager or technician: their own)."""
        return service.get_scorecard(unit_of_work(), current_principal(), point_id, tz=settings().timezone, **args)
