"""Stock: levels, locations, the movement ledger, deliveries into HQ, transfers and receipts,
count adjustments, defective returns, min/max limits and replenishment suggestions.

Scoped by role: HQ sees every location; a manager their point and its vans; a technician their
van. A request that would take any level below zero is a 409 ``insufficient-stock`` and changes
nothing.
"""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.stock import (
    AdjustmentSchema,
    DefectiveReturnSchema,
    DeliverySchema,
    LevelFilterSchema,
    LevelSchema,
    LimitsSchema,
    LocationFilterSchema,
    MovementFilterSchema,
    MovementSchema,
    ReplenishmentFilterSchema,
    StockLocationSchema,
    SuggestionSchema,
    StockTransferCreateSchema,
    StockTransferFilterSchema,
    StockTransferSchema,
)
from dispatch.stock import movements as service
from dispatch.stock import replenishment

blp = Blueprint("stock", __name__, url_prefix="/api/v1/stock", description="Stock levels and movements")

INSUFFICIENT = "insufficient-stock: a level would go below zero; nothing changed (where, what, available)"


@blp.route("/")
class Levels(MethodView):
    @blp.arguments(LevelFilterSchema(), location="query")
    @blp.response(200, LevelSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Stock levels the caller sees (a point's includes its vans), with low-stock flags."""
        items, total = service.list_levels(unit_of_work(), current_principal(),
                                           offset=pagination_parameters.first_item,
                                           limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/locations")
class Locations(MethodView):
    @blp.arguments(LocationFilterSchema(), location="query")
    @blp.response(200, StockLocationSchema(many=True))
    def get(self, filters):
        """Locations the caller may name: their own, plus HQ (and a technician's point)."""
        return service.list_locations(unit_of_work(), current_principal(), **filters)


@blp.route("/movements")
class Movements(MethodView):
    @blp.arguments(MovementFilterSchema(), location="query")
    @blp.response(200, MovementSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """The ledger of the locations the caller sees, newest first."""
        items, total = service.list_movements(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/deliveries")
class Deliveries(MethodView):
    @idempotent
    @blp.arguments(DeliverySchema())
    @blp.response(201, MovementSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self, body):
        """Receive goods from a supplier into the HQ warehouse (movement `receive`)."""
        return service.receive(unit_of_work(), current_principal(), **body)


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.arguments(StockTransferFilterSchema(), location="query")
    @blp.response(200, StockTransferSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Transfers into or out of the locations the caller sees."""
        items, total = service.list_transfers(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @idempotent
    @blp.arguments(StockTransferCreateSchema())
    @blp.response(201, StockTransferSchema)
    @blp.alt_response(409, schema=ProblemSchema, description=INSUFFICIENT)
    @blp.alt_response(403, schema=ProblemSchema, description="the caller may not send stock there")
    def post(self, body):
        """Dispatch stock: out of the source's available now, in transit at the destination until received."""
        transfer = service.dispatch_transfer(unit_of_work(), current_principal(), **body)
        return transfer, {"Location": url_for("stock.TransferById", transfer_id=transfer.id)}


@blp.route("/transfers/<uuid:transfer_id>")
class TransferById(MethodView):
    @blp.response(200, StockTransferSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such transfer, or neither end is the caller's")
    def get(self, transfer_id):
        """One transfer."""
        return service.get_transfer(unit_of_work(), current_principal(), transfer_id)


@blp.route("/transfers/<uuid:transfer_id>/receipt")
class TransferReceipt(MethodView):
    @blp.response(200, StockTransferSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="already received")
    @blp.alt_response(403, schema=ProblemSchema, description="only the receiving side confirms")
    def post(self, transfer_id):
        """The receiver confirms the transfer arrived: in transit becomes on hand."""
        return service.confirm_receipt(unit_of_work(), current_principal(), transfer_id)


@blp.route("/adjustments")
class Adjustments(MethodView):
    @idempotent
    @blp.arguments(AdjustmentSchema())
    @blp.response(201, MovementSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="on hand would drop below zero or below reserved")
    @blp.alt_response(412, schema=ProblemSchema, description="the level changed since the count started")
    def post(self, body):
        """Correct a count after a stock take (admin, or the manager of the location); reason required."""
        return service.adjust(unit_of_work(), current_principal(), **body)


@blp.route("/defective-returns")
class DefectiveReturns(MethodView):
    @idempotent
    @blp.arguments(DefectiveReturnSchema())
    @blp.response(201, MovementSchema(many=True))
    @blp.alt_response(409, schema=ProblemSchema, description=INSUFFICIENT)
    def post(self, body):
        """Send defective stock back to HQ's defective bin (movement `return_defective`)."""
        return service.return_defective(unit_of_work(), current_principal(), **body)


@blp.route("/limits")
class Limits(MethodView):
    @blp.arguments(LimitsSchema())
    @blp.response(200, LevelSchema)
    def put(self, body):
        """Set min/max for one part at one location (admin; a manager for their point and vans)."""
        return service.set_limits(unit_of_work(), current_principal(), **body)


@blp.route("/replenishment")
class Replenishment(MethodView):
    @blp.arguments(ReplenishmentFilterSchema(), location="query")
    @blp.response(200, SuggestionSchema(many=True))
    def get(self, filters):
        """Suggested transfers (HQ to point, point to van) back to max; purchases when HQ is short."""
        return replenishment.suggest(unit_of_work(), current_principal(), **filters)
