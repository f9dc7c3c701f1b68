"""The spare parts catalogue (HQ maintains it; every role reads it)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.parts import PartCreateSchema, PartFilterSchema, PartSchema, PartUpdateSchema
from dispatch.stock import catalogue as service

blp = Blueprint("parts", __name__, url_prefix="/api/v1/parts", description="Spare parts catalogue")


@blp.route("/")
@blp.etag  # reference data: If-None-Match answers 304 when nothing changed
class Parts(MethodView):
    @blp.arguments(PartFilterSchema(), location="query")
    @blp.response(200, PartSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List parts, by SKU/name fragment, fitting model, consumable or not."""
        items, total = service.list_parts(unit_of_work(), current_principal(),
                                          offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(PartCreateSchema())
    @blp.response(201, PartSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the SKU is in the catalogue already")
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self, body):
        """Add a part with its list price (admin)."""
        part = service.add_part(unit_of_work(), current_principal(), **body)
        return part, {"Location": url_for("parts.PartById", part_id=part.id)}


@blp.route("/<uuid:part_id>")
@blp.etag
class PartById(MethodView):
    @blp.response(200, PartSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such part")
    def get(self, part_id):
        """One part."""
        return service.get_part(unit_of_work(), current_principal(), part_id)

    @blp.arguments(PartUpdateSchema())
    @blp.response(200, PartSchema)
    @blp.alt_response(412, description="the part changed since it was read (If-Match)")
    def patch(self, changes, part_id):
        """Change price, fits, flags (admin; If-Match required). Parts already fitted keep their price."""
        current = service.get_part(unit_of_work(), current_principal(), part_id)
        blp.check_etag(current, PartSchema)
        return service.update_part(unit_of_work(), current_principal(), part_id,
                                   expected_version=current.version, **changes)
