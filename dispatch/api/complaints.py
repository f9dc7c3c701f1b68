"""Complaints: intake, the handling flow, per-category deadlines and escalation to HQ."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.complaints import (
    CompensationTierSchema,
    CompensationTiersSchema,
    ComplaintCreateSchema,
    ComplaintFilterSchema,
    ComplaintSchema,
    ComplaintTransitionSchema,
    DeadlineSchema,
    DeadlineUpdateSchema,
    ProposalAnswerSchema,
    SatisfactionSchema,
)
from dispatch.care import complaint_answers, complaints
from dispatch.care.enums import ComplaintCategory

blp = Blueprint("complaints", __name__, url_prefix="/api/v1/complaints",
                description="Customer complaints with handling deadlines")


@blp.route("/")
class Complaints(MethodView):
    @blp.arguments(ComplaintFilterSchema(), location="query")
    @blp.response(200, ComplaintSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Complaints, nearest deadline first (`?overdue=true`, `?escalated=true`: HQ's queue)."""
        items, total = complaints.list_complaints(unit_of_work(), current_principal(),
                                                  offset=pagination_parameters.first_item,
                                                  limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @idempotent
    @blp.arguments(ComplaintCreateSchema())
    @blp.response(201, ComplaintSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="a linked customer, unit or job does not fit")
    def post(self, body):
        """Record a complaint (call centre, or a point's manager about their point)."""
        complaint = complaints.create_complaint(unit_of_work(), current_principal(), **body)
        return complaint, {"Location": url_for("complaints.ComplaintById", complaint_id=complaint.id)}


@blp.route("/<uuid:complaint_id>")
class ComplaintById(MethodView):
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such complaint, or not the caller's to see")
    def get(self, complaint_id):
        """One complaint with its history."""
        return complaints.get_complaint(unit_of_work(), current_principal(), complaint_id)


@blp.route("/<uuid:complaint_id>/transitions")
class ComplaintTransitions(MethodView):
    @blp.arguments(ComplaintTransitionSchema())
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="illegal move; `allowed` lists the legal ones")
    @blp.alt_response(403, schema=ProblemSchema, description="classifying and closing are HQ's")
    def post(self, body, complaint_id):
        """Move the complaint along received -> classified -> investigating -> solution_proposed ->
        resolved -> closed."""
        return complaints.transition_complaint(unit_of_work(), current_principal(), complaint_id, **body)


@blp.route("/<uuid:complaint_id>/answer")
class ComplaintAnswer(MethodView):
    @blp.arguments(ProposalAnswerSchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="no proposal waiting for the customer's answer")
    def post(self, body, complaint_id):
        """Record the customer's answer to the proposal, taken on the phone: accepted (the owner
        may resolve it) or rejected (back to the investigation)."""
        return complaint_answers.answer_proposal(unit_of_work(), current_principal(), complaint_id, **body)


@blp.route("/<uuid:complaint_id>/satisfaction")
class ComplaintSatisfaction(MethodView):
    @blp.arguments(SatisfactionSchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="not closed yet, or answered already")
    def post(self, body, complaint_id):
        """Record the customer's satisfaction (1-5) with a closed complaint's handling, taken on the phone."""
        return complaint_answers.record_satisfaction(unit_of_work(), current_principal(), complaint_id, **body)


@blp.route("/compensation-tiers")
class CompensationTiers(MethodView):
    @blp.response(200, CompensationTierSchema(many=True))
    def get(self):
        """HQ's late-visit compensation rule: from so many minutes late against the SLA, this amount."""
        return complaint_answers.list_compensation_tiers(unit_of_work(), current_principal())

    @blp.arguments(CompensationTiersSchema)
    @blp.response(200, CompensationTierSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def put(self, body):
        """Replace the late-visit compensation rule (applies to complaints received from now on)."""
        return complaint_answers.set_compensation_tiers(unit_of_work(), current_principal(), body["tiers"])


@blp.route("/deadlines")
class Deadlines(MethodView):
    @blp.response(200, DeadlineSchema(many=True))
    def get(self):
        """Hours each category has to be resolved in."""
        return complaints.list_deadlines(unit_of_work(), current_principal())


@blp.route(f"/deadlines/<any({','.join(c.value for c in ComplaintCategory)}):category>")
class DeadlineByCategory(MethodView):
    @blp.arguments(DeadlineUpdateSchema())
    @blp.response(200, DeadlineSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def put(self, body, category):
        """Set a category's deadline (applies to complaints received or classified from now on)."""
        return complaints.set_deadline(unit_of_work(), current_principal(), ComplaintCategory(category), **body)

