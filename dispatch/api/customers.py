"""Customers. Personal data is masked for every caller but admins and the customer's own point."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.customers import (
    CustomerCreateSchema,
    CustomerFilterSchema,
    CustomerSchema,
    CustomerUpdateSchema,
)
from dispatch.network import customers as service

blp = Blueprint("customers", __name__, url_prefix="/api/v1/customers", description="Customers")


@blp.route("/")
class Customers(MethodView):
    @blp.arguments(CustomerFilterSchema(), location="query")
    @blp.response(200, CustomerSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Find customers (phone, grade, owning point, name fragment); masked where not the caller's."""
        items, total = service.list_customers(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @idempotent
    @blp.arguments(CustomerCreateSchema())
    @blp.response(201, CustomerSchema)
    @blp.alt_response(409, description="a customer with this phone number exists (its id is in the body)")
    def post(self, body):
        """Register a customer (admin, manager or technician; a point registers for itself)."""
        customer = service.create_customer(unit_of_work(), current_principal(), **body)
        return customer, {"Location": url_for("customers.CustomerById", customer_id=customer.id)}


@blp.route("/<uuid:customer_id>")
@blp.etag
class CustomerById(MethodView):
    @blp.response(200, CustomerSchema)
    def get(self, customer_id):
        """One customer (masked unless admin or their own point)."""
        return service.get_customer(unit_of_work(), current_principal(), customer_id)

    @blp.arguments(CustomerUpdateSchema())
    @blp.response(200, CustomerSchema)
    @blp.alt_response(412, description="the customer changed since it was read (If-Match)")
    def patch(self, changes, customer_id):
        """Correct details (admin or the customer's own point's manager; If-Match required)."""
        current = service.get_customer(unit_of_work(), current_principal(), customer_id, to_edit=True)
        blp.check_etag(current, CustomerSchema)
        return service.update_customer(unit_of_work(), current_principal(), customer_id,
                                       expected_version=current.version, **changes)
