"""A plan's day as a Gantt picture (the map is in plans.py)."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.routing import gantt

blp = Blueprint("plan_pictures", __name__, url_prefix="/api/v1", description="Route plans drawn")


@blp.route("/plans/<uuid:plan_id>/gantt.svg")
class PlanGantt(MethodView):
    @blp.response(200, content_type="image/svg+xml", description="each technician's day across the hours")
    @blp.alt_response(404, schema=ProblemSchema, description="no such plan, or not the caller's")
    def get(self, plan_id):
        """The plan as a Gantt SVG: driving, work, break and waiting per technician; customer windows as
        brackets, SLA due times as red marks."""
        return Response(gantt.plan_gantt_svg(unit_of_work(), current_principal(), plan_id), mimetype="image/svg+xml")
