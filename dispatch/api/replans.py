"""Real-time re-planning: propose the rest of today anew after illness, an overrun, a no-show or an
emergency; the manager confirms (or discards) the proposal."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.replans import ReplanCreateSchema, ReplanSchema
from dispatch.routing import replanning

blp = Blueprint("replans", __name__, url_prefix="/api/v1", description="Re-planning the rest of a day")


@blp.route("/service-points/<uuid:point_id>/replans")
class PointReplans(MethodView):
    @blp.arguments(ReplanCreateSchema())
    @blp.response(201, ReplanSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    @blp.alt_response(409, schema=ProblemSchema, description="the job is not in a state this kind is about")
    @blp.alt_response(422, schema=ProblemSchema, description="missing subject, or the emergency fits nowhere")
    @blp.alt_response(503, schema=ProblemSchema, description="the planner did not answer in time")
    def post(self, body, point_id):
        """Propose a re-plan of the rest of today with least disruption; nothing is applied yet."""
        replan = replanning.propose(unit_of_work(), current_principal(), point_id, timezone=settings().timezone,
                                    **body)
        return replan, {"Location": url_for("replans.ReplanById", replan_id=replan.id)}


@blp.route("/replans/<uuid:replan_id>")
class ReplanById(MethodView):
    @blp.response(200, ReplanSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such re-plan, or not the caller's")
    def get(self, replan_id):
        """A proposal and what became of it."""
        return replanning.get_replan(unit_of_work(), current_principal(), replan_id)


@blp.route("/replans/<uuid:replan_id>/confirm")
class ReplanConfirmation(MethodView):
    @blp.response(200, ReplanSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="decided already, or the day changed (`changed_jobs`)")
    def post(self, replan_id):
        """Apply the proposal in one transaction; the customers whose visit moved are told now."""
        return replanning.confirm(unit_of_work(), current_principal(), replan_id)


@blp.route("/replans/<uuid:replan_id>/discard")
class ReplanDiscard(MethodView):
    @blp.response(200, ReplanSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="decided already")
    def post(self, replan_id):
        """Drop the proposal; nothing changes."""
        return replanning.discard(unit_of_work(), current_principal(), replan_id)
