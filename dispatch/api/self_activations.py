"""HQ's review list of customers' self-activations that were flagged (far from the sale, late)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.schemas.customer import ReviewFilterSchema, ReviewNoteSchema, SelfActivationReviewSchema
from dispatch.customers import units

blp = Blueprint("self_activations", __name__, url_prefix="/api/v1/self-activations",
                description="Flagged self-activations for HQ to review")


@blp.route("/")
class FlaggedActivations(MethodView):
    @blp.arguments(ReviewFilterSchema(), location="query")
    @blp.response(200, SelfActivationReviewSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Flagged self-activations, newest first (HQ: admin, reviewer)."""
        items, total = units.flagged_activations(unit_of_work(), current_principal(), reviewed=filters["reviewed"],
                                                 offset=pagination_parameters.first_item,
                                                 limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:activation_id>/review")
class ReviewActivation(MethodView):
    @blp.arguments(ReviewNoteSchema())
    @blp.response(200, SelfActivationReviewSchema)
    @blp.alt_response(409, description="reviewed already")
    def post(self, body, activation_id):
        """Record HQ's look at a flagged self-activation (admin)."""
        return units.review_activation(unit_of_work(), current_principal(), activation_id, note=body["note"])
