"""Warranty claims: points ask HQ to pay for parts fitted free under warranty."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.claims import (
    ClaimDecisionSchema,
    ClaimFilterSchema,
    ClaimPolicySchema,
    ClaimReturnSchema,
    ClaimSchema,
    ClaimWaiverSchema,
)
from dispatch.stock import claims as service

blp = Blueprint("claims", __name__, url_prefix="/api/v1/claims", description="Warranty claims")


@blp.route("/")
class Claims(MethodView):
    @blp.arguments(ClaimFilterSchema(), location="query")
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
    @blp.arguments(ClaimDecisionSchema())
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the claim was already decided, or "
                                                             "`defective-return-missing`: approval before the old "
                                                             "part came back (or was waived)")
    def post(self, body, claim_id):
        """HQ approves or rejects (with a reason) a claim that passed the automatic checks or was held for
        review (admin). Approval needs the old part received at HQ, or HQ's photo waiver."""
        return service.decide_claim(unit_of_work(), current_principal(), claim_id, **body)


@blp.route("/<uuid:claim_id>/defective-return")
class ClaimDefectiveReturn(MethodView):
    @blp.arguments(ClaimReturnSchema())
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the claim is decided, or its part is accounted for")
    def post(self, body, claim_id):
        """HQ received the claim's old part: it enters HQ's defective bin (admin)."""
        return service.receive_return(unit_of_work(), current_principal(), claim_id, **body)


@blp.route("/<uuid:claim_id>/return-waiver")
class ClaimReturnWaiver(MethodView):
    @blp.arguments(ClaimWaiverSchema())
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the claim is decided, or its part is accounted for")
    def post(self, body, claim_id):
        """HQ waives the old part's return on photo evidence, with a reason (admin)."""
        return service.waive_return(unit_of_work(), current_principal(), claim_id, **body)


@blp.route("/policy")
class ClaimPolicy(MethodView):
    @blp.response(200, ClaimPolicySchema)
    def get(self):
        """The claim checks' settings (HQ and managers)."""
        return service.get_policy(unit_of_work(), current_principal())

    @blp.arguments(ClaimPolicySchema())
    @blp.response(200, ClaimPolicySchema)
    def put(self, body):
        """Set the repeat-claim window (admin)."""
        return service.set_policy(unit_of_work(), current_principal(), **body)
