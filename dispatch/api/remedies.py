"""Repair, replace or refund (三包): HQ's periods, the points' requests and HQ's decisions, the
suggestions raised by a repeat repair, and whole units coming back to HQ."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.remedies import (
    RemedyDecisionSchema,
    RemedyFilterSchema,
    RemedyRequestInputSchema,
    RemedyRequestSchema,
    ReplacementSuggestionSchema,
    StatutoryPeriodsInputSchema,
    StatutoryPeriodsSchema,
    UnitReceiptSchema,
    UnitReturnFilterSchema,
    UnitReturnSchema,
)
from dispatch.errors import NotFound
from dispatch.network.enums import ProductCategory
from dispatch.stock import unit_returns
from dispatch.warranty import remedies as service
from dispatch.warranty import suggestions

blp = Blueprint("remedies", __name__, url_prefix="/api/v1", description="Repair, replace or refund")


@blp.route("/statutory-periods")
class Periods(MethodView):
    @blp.response(200, StatutoryPeriodsSchema(many=True))
    def get(self):
        """The refund and replace periods of every product category (every role)."""
        return service.list_periods(unit_of_work(), current_principal())


@blp.route("/statutory-periods/<string:category>")
class PeriodsOfCategory(MethodView):
    @blp.arguments(StatutoryPeriodsInputSchema)
    @blp.response(200, StatutoryPeriodsSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such product category")
    def put(self, body, category):
        """Set a category's periods in days from the purchase (admin)."""
        return service.set_periods(unit_of_work(), current_principal(), _category(category), **body)


def _category(value: str) -> ProductCategory:
    try:
        return ProductCategory(value)
    except ValueError:
        raise NotFound(f"no product category {value}") from None


@blp.route("/remedy-requests")
class Requests(MethodView):
    @blp.arguments(RemedyFilterSchema, location="query")
    @blp.response(200, RemedyRequestSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Refund and replacement requests (HQ: all; a point: its own), newest first."""
        items, total = service.list_requests(unit_of_work(), current_principal(),
                                             offset=pagination_parameters.first_item,
                                             limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(RemedyRequestInputSchema)
    @blp.response(201, RemedyRequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="`outside-statutory-period` (repair it), "
                                                             "`remedy-not-covered` (misuse, out of warranty), or a "
                                                             "request already waiting")
    @blp.alt_response(422, schema=ProblemSchema, description="unknown cause, another cause than the repair found, "
                                                             "or photos not from the job's point")
    def post(self, body):
        """The job's technician or the point's manager asks HQ to refund or replace the repaired unit, with
        the fault cause and photos."""
        row = service.file_request(unit_of_work(), current_principal(), **body)
        return row, {"Location": url_for("remedies.RequestById", request_id=row.id)}


@blp.route("/remedy-requests/<uuid:request_id>")
class RequestById(MethodView):
    @blp.response(200, RemedyRequestSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such request, or another point's")
    def get(self, request_id):
        """One request."""
        return service.get_request(unit_of_work(), current_principal(), request_id)


@blp.route("/remedy-requests/<uuid:request_id>/decision")
class RequestDecision(MethodView):
    @blp.arguments(RemedyDecisionSchema)
    @blp.response(200, RemedyRequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="decided already, or the warranty is closed")
    @blp.alt_response(422, schema=ProblemSchema, description="no valid replacement unit, or no reason to reject")
    def post(self, body, request_id):
        """HQ approves (closing the old unit's warranty, binding the replacement with the remaining warranty,
        expecting the old unit back, telling the customer) or rejects with a reason (admin)."""
        return service.decide(unit_of_work(), current_principal(), request_id, **body)


@blp.route("/replacement-suggestions")
class Suggestions(MethodView):
    @blp.response(200, ReplacementSuggestionSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Units whose same defect was repaired twice within the warranty (HQ; a manager: the point's)."""
        items, total = suggestions.list_suggestions(unit_of_work(), current_principal(),
                                                    offset=pagination_parameters.first_item,
                                                    limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


@blp.route("/unit-returns")
class UnitReturns(MethodView):
    @blp.arguments(UnitReturnFilterSchema, location="query")
    @blp.response(200, UnitReturnSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Whole defective units expected at or received by HQ (HQ; a manager: the point's)."""
        items, total = unit_returns.list_returns(unit_of_work(), current_principal(),
                                                 offset=pagination_parameters.first_item,
                                                 limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/unit-returns/<uuid:return_id>/receipt")
class UnitReceipt(MethodView):
    @blp.arguments(UnitReceiptSchema)
    @blp.response(200, UnitReturnSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="received already")
    def post(self, body, return_id):
        """HQ has the old unit in hand (admin)."""
        return unit_returns.receive(unit_of_work(), current_principal(), return_id, **body)
