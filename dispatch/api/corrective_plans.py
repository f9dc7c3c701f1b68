"""Corrective action for weak points (整改): HQ opens a plan for a flagged point, the point's
manager answers each action with evidence, HQ draws a targeted re-audit after the deadline,
reviewers judge it, and an admin decides: close, extend, suspend or revoke."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.correction import (
    CorrectiveAnswerSchema,
    CorrectiveDecisionSchema,
    CorrectivePlanCreateSchema,
    CorrectivePlanFilterSchema,
    CorrectivePlanSchema,
    ReauditVerdictSchema,
)
from dispatch.correction import service

blp = Blueprint("corrective_plans", __name__, url_prefix="/api/v1/corrective-plans",
                description="Corrective action for flagged service points (整改)")


@blp.route("/")
class CorrectivePlans(MethodView):
    @blp.arguments(CorrectivePlanFilterSchema, location="query")
    @blp.response(200, CorrectivePlanSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Plans, newest first (HQ: every point; a manager: their own point's)."""
        items, total = service.list_plans(unit_of_work(), current_principal(),
                                          offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(CorrectivePlanCreateSchema)
    @blp.response(201, CorrectivePlanSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the point already has an open plan")
    def post(self, body):
        """HQ (admin, reviewer) opens a plan for a point flagged by its scorecard, SLA compliance
        or complaint rate (422 when nothing flags it): findings, required actions, a deadline."""
        plan = service.open_plan(unit_of_work(), current_principal(), tz=settings().timezone, **body)
        return plan, {"Location": f"/api/v1/corrective-plans/{plan.id}"}


@blp.route("/<uuid:corrective_plan_id>")
class CorrectivePlanById(MethodView):
    @blp.response(200, CorrectivePlanSchema)
    def get(self, corrective_plan_id):
        """One plan: grounds, findings, actions with answers, the re-audit and the decision."""
        return service.get_plan(unit_of_work(), current_principal(), corrective_plan_id)


@blp.route("/<uuid:corrective_plan_id>/answers")
class Answers(MethodView):
    @blp.arguments(CorrectiveAnswerSchema)
    @blp.response(200, CorrectivePlanSchema)
    def post(self, body, corrective_plan_id):
        """The point's manager answers one action with a text and evidence (attachments uploaded
        at the point); an answer may be replaced until the re-audit is drawn."""
        return service.answer_action(unit_of_work(), current_principal(), corrective_plan_id, body["action_id"],
                                     answer=body["answer"], evidence=body["evidence"])


@blp.route("/<uuid:corrective_plan_id>/reaudit")
class Reaudit(MethodView):
    @blp.response(200, CorrectivePlanSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="no checklist completed since the deadline")
    def post(self, corrective_plan_id):
        """HQ draws the targeted re-audit: an ISO 2859-1 sample of the point's checklists
        completed after the deadline, ranked by HMAC keys under a seed revealed with it."""
        return service.draw_reaudit(unit_of_work(), current_principal(), corrective_plan_id, tz=settings().timezone)


@blp.route("/<uuid:corrective_plan_id>/reaudit/verdicts")
class ReauditVerdicts(MethodView):
    @blp.arguments(ReauditVerdictSchema)
    @blp.response(200, CorrectivePlanSchema)
    def post(self, body, corrective_plan_id):
        """A reviewer's verdict on one sampled checklist of the re-audit."""
        return service.judge_item(unit_of_work(), current_principal(), corrective_plan_id, body["checklist_id"],
                                  verdict=body["verdict"], note=body["note"])


@blp.route("/<uuid:corrective_plan_id>/decision")
class Decision(MethodView):
    @blp.arguments(CorrectiveDecisionSchema)
    @blp.response(200, CorrectivePlanSchema)
    def post(self, body, corrective_plan_id):
        """An admin decides: close (the re-audit accepted), extend (new deadline, new round),
        suspend the point, or revoke it and hand its regions and open jobs to a successor."""
        return service.decide(unit_of_work(), current_principal(), corrective_plan_id, tz=settings().timezone,
                              **body)
