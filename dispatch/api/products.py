"""The product catalogue (HQ maintains it; every role reads it)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.schemas.products import ProductCreateSchema, ProductFilterSchema, ProductSchema, ProductUpdateSchema
from dispatch.network import catalogue as service

blp = Blueprint("products", __name__, url_prefix="/api/v1/products", description="Product catalogue")


@blp.route("/")
@blp.etag  # reference data: If-None-Match answers 304 when nothing changed
class Products(MethodView):
    @blp.arguments(ProductFilterSchema(), location="query")
    @blp.response(200, ProductSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List models, by category, SKU or a name fragment."""
        items, total = service.list_products(unit_of_work(), current_principal(),
                                             offset=pagination_parameters.first_item,
                                             limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(ProductCreateSchema())
    @blp.response(201, ProductSchema)
    @blp.alt_response(409, description="the SKU is in the catalogue already")
    def post(self, body):
        """Add a model (admin)."""
        product = service.create_product(unit_of_work(), current_principal(), **body)
        return product, {"Location": url_for("products.ProductById", product_id=product.id)}


@blp.route("/<uuid:product_id>")
@blp.etag
class ProductById(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        """One model."""
        return service.get_product(unit_of_work(), current_principal(), product_id)

    @blp.arguments(ProductUpdateSchema())
    @blp.response(200, ProductSchema)
    @blp.alt_response(412, description="the product changed since it was read (If-Match)")
    def patch(self, changes, product_id):
        """Change name, warranty, maintenance interval or standard minutes (admin; If-Match required)."""
        current = service.get_product(unit_of_work(), current_principal(), product_id, to_edit=True)
        blp.check_etag(current, ProductSchema)
        return service.update_product(unit_of_work(), current_principal(), product_id,
                                      expected_version=current.version, **changes)

    @blp.response(204)
    @blp.alt_response(409, description="units or jobs refer to the product")
    def delete(self, product_id):
        """Remove an unused model (admin; If-Match required)."""
        current = service.get_product(unit_of_work(), current_principal(), product_id, to_edit=True)
        blp.check_etag(current, ProductSchema)
        service.delete_product(unit_of_work(), current_principal(), product_id, expected_version=current.version)
