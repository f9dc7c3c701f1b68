"""Warranty claims: points ask HQ to pay for parts fitted free under warranty."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.claims import ClaimDecisionSchema, ClaimFilterSchema, ClaimSchema
from dispatch.stock import claims as service

blp = Blueprint("claims", __name__, url_prefix="/api/v1/claims", description="Warranty claims")


@blp.route("/")
class Claims(MethodView):
    @blp.arguments(ClaimFilterSchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    @blp.alt_response(403, schema=ProblemSchema, description="technicians do not see claims")
    def get(self, filters, pagination_parameters):
        """Claims (HQ: all; a manager: their point's), newest first; automatic rejections say why."""
        items, total = service.list_claims(unit_of_work(), current_principal(),
                                           offset=pagination_parameters.first_item,
                                           limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:claim_id>")
class ClaimById(MethodView):
    @blp.response(200, ClaimSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such claim, or another point's")
    def get(self, claim_id):
        """One claim."""
        return service.get_claim(unit_of_work(), current_principal(), claim_id)


@blp.route("/<uuid:claim_id>/decision")
class ClaimDecision(MethodView):
    @blp.arguments(ClaimDecisionSchema)
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the claim was already decided")
    def post(self, body, claim_id):
        """HQ approves or rejects (with a reason) a claim that passed the automatic checks (admin)."""
        return service.decide_claim(unit_of_work(), current_principal(), claim_id, **body)
