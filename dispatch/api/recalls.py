"""Recall campaigns: HQ defines and launches them; a background task opens the jobs; progress and
completion per point are read here."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.recalls import RecallCreateSchema, RecallPointSchema, RecallSchema
from dispatch.warranty import recalls as service

blp = Blueprint("recalls", __name__, url_prefix="/api/v1/recall-campaigns", description="Recall campaigns")


@blp.route("")
class Recalls(MethodView):
    @blp.response(200, RecallSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Campaigns, newest first (HQ and managers)."""
        items, total = service.list_campaigns(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(RecallCreateSchema)
    @blp.response(201, RecallSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the code is taken")
    def post(self, body):
        """Define a campaign over a serial range, or a model and manufacture date range, with the part to
        replace (admin); `total` counts the affected activated units."""
        row = service.create(unit_of_work(), current_principal(), **body)
        return row, {"Location": url_for("recalls.RecallById", campaign_id=row.id)}


@blp.route("/<uuid:campaign_id>")
class RecallById(MethodView):
    @blp.response(200, RecallSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such campaign")
    def get(self, campaign_id):
        """A campaign and the background task's progress."""
        return service.get_campaign(unit_of_work(), current_principal(), campaign_id)


@blp.route("/<uuid:campaign_id>/launch")
class RecallLaunch(MethodView):
    @blp.response(202, RecallSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the campaign is done")
    def post(self, campaign_id):
        """Launch (or resume) the campaign: a background task opens a job per affected unit and tells the
        customer, in batches; a unit never gets a second job (admin)."""
        return service.launch(unit_of_work(), current_principal(), task_queue(), campaign_id)


@blp.route("/<uuid:campaign_id>/points")
class RecallPoints(MethodView):
    @blp.response(200, RecallPointSchema(many=True))
    def get(self, campaign_id):
        """Completion per service point: jobs opened, completed, cancelled, still open (a manager: theirs)."""
        return service.points(unit_of_work(), current_principal(), campaign_id)
