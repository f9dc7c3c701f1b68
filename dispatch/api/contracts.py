"""Service contracts sold per unit: annual service packages (包年) and extended warranties."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.contracts import (
    ContractCancelSchema,
    ContractCreateSchema,
    ContractFilterSchema,
    ContractSchema,
    ReminderQueuedSchema,
    ReminderRequestSchema,
)
from dispatch.warranty import contracts as service

blp = Blueprint("contracts", __name__, url_prefix="/api/v1/service-contracts", description="Service contracts")


@blp.route("")
class Contracts(MethodView):
    @blp.arguments(ContractFilterSchema, location="query")
    @blp.response(200, ContractSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Contracts (HQ: all; a manager: the point's), newest first, by serial and status."""
        items, total = service.list_contracts(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(ContractCreateSchema)
    @blp.response(201, ContractSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the unit has no open card, its warranty ended too "
                                                             "long ago, or a contract of the kind overlaps")
    def post(self, body):
        """Sell a contract for a unit (admin, point manager): an annual package with its visits and parts (the
        unit's maintenance plan follows its rhythm) or an extended warranty after the factory warranty."""
        parts = [service.IncludedPart(quantity=p["quantity"], part_sku=p["part_sku"]) for p in body.pop("parts")]
        row = service.sell(unit_of_work(), current_principal(), parts=parts, **body)
        return row, {"Location": url_for("contracts.ContractById", contract_id=row.id)}


@blp.route("/<uuid:contract_id>")
class ContractById(MethodView):
    @blp.response(200, ContractSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such contract, or another point's")
    def get(self, contract_id):
        """One contract, with the visits and parts used so far."""
        return service.get_contract(unit_of_work(), current_principal(), contract_id)


@blp.route("/<uuid:contract_id>/cancellation")
class ContractCancellation(MethodView):
    @blp.arguments(ContractCancelSchema)
    @blp.response(200, ContractSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such contract, or another point's")
    @blp.alt_response(409, schema=ProblemSchema, description="cancelled or ended already, or a visit billed to it "
                                                             "is still open")
    def post(self, body, contract_id):
        """Cancel a running contract today (admin, the selling point's manager): the refund owed (the unused
        share of the price) is recorded and texted to the customer; an annual package's maintenance rhythm
        goes back to the model's."""
        return service.cancel(unit_of_work(), current_principal(), contract_id, **body)


@blp.route("/reminders")
class ContractReminders(MethodView):
    @blp.arguments(ReminderRequestSchema)
    @blp.response(202, ReminderQueuedSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self, body):
        """Run the daily expiry reminders now (admin; a contract is reminded once)."""
        return service.request_reminders(unit_of_work(), current_principal(), task_queue(), **body)
