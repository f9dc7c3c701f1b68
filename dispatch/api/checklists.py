"""SOP checklists: a job's checklist and its steps, step submissions, and the reviewers' list."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.checklists import (
    ChecklistFilterSchema,
    ChecklistQuerySchema,
    ChecklistSchema,
    ChecklistSummarySchema,
    StepStateSchema,
    StepSubmitSchema,
)
from dispatch.sop import checklists

blp = Blueprint("checklists", __name__, url_prefix="/api/v1",
                description="SOP checklists: step-by-step results with evidence, gating job completion")


@blp.route("/jobs/<uuid:job_id>/checklist")
class JobChecklist(MethodView):
    @blp.arguments(ChecklistQuerySchema(), location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, query, job_id):
        """The job's checklist: every step with its state; ``include=revisions`` adds every submission."""
        return checklists.get_checklist(unit_of_work(), current_principal(), job_id,
                                        include_revisions=query.get("include") == "revisions")


@blp.route("/jobs/<uuid:job_id>/checklist/steps/<string:key>")
class ChecklistStep(MethodView):
    @blp.arguments(StepSubmitSchema())
    @blp.response(200, StepStateSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="job not on site, checklist read-only, or earlier "
                                                             "steps missing (`missing_steps`)")
    @blp.alt_response(422, schema=ProblemSchema, description="value of the wrong kind, or wrong number of attachments")
    def put(self, body, job_id, key):
        """Record a step (the assigned technician, on site). Submitting again keeps the earlier
        result as a revision."""
        return checklists.submit_step(unit_of_work(), current_principal(), job_id=job_id, key=key, **body)


@blp.route("/checklists")
class Checklists(MethodView):
    @blp.arguments(ChecklistFilterSchema(), location="query")
    @blp.response(200, ChecklistSummarySchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Checklists by service point, completion week, status and technician, oldest completion first."""
        items, total = checklists.list_checklists(
            unit_of_work(), current_principal(), offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size, tz=ZoneInfo(settings().timezone), **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/checklists/<uuid:checklist_id>")
class ChecklistById(MethodView):
    @blp.arguments(ChecklistQuerySchema(), location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, query, checklist_id):
        """One checklist by its id (as audit samples refer to it), scoped like its job."""
        return checklists.get_checklist_by_id(unit_of_work(), current_principal(), checklist_id,
                                              include_revisions=query.get("include") == "revisions")
