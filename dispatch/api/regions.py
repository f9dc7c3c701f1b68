"""Regions: the province > city > district tree and district boundaries (HQ edits, all read)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.schemas.regions import (
    LocateQuerySchema,
    RegionCreateSchema,
    RegionFilterSchema,
    RegionSchema,
    RegionUpdateSchema,
)
from dispatch.network import regions as service

blp = Blueprint("regions", __name__, url_prefix="/api/v1/regions", description="Regions and district boundaries")


@blp.route("/")
@blp.etag  # reference data: If-None-Match answers 304 when nothing changed
class Regions(MethodView):
    @blp.arguments(RegionFilterSchema(), location="query")
    @blp.response(200, RegionSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List regions, filtered by level, parent, code or a name fragment."""
        items, total = service.list_regions(unit_of_work(), current_principal(),
                                            offset=pagination_parameters.first_item,
                                            limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(RegionCreateSchema())
    @blp.response(201, RegionSchema)
    @blp.alt_response(409, description="the code is taken, or the boundary overlaps another district")
    @blp.alt_response(422, description="invalid or self-intersecting boundary, or a parent of the wrong level")
    def post(self, body):
        """Create a region (admin)."""
        region = service.create_region(unit_of_work(), current_principal(), **body)
        return region, {"Location": url_for("regions.RegionById", region_id=region.id)}


@blp.route("/locate")
class DistrictAtLocation(MethodView):
    @blp.arguments(LocateQuerySchema(), location="query")
    @blp.response(200, RegionSchema)
    @blp.alt_response(404, description="no district boundary contains the location")
    def get(self, location):
        """The district whose boundary contains ``lat``/``lon``."""
        return service.locate_district(unit_of_work(), current_principal(), **location)


@blp.route("/<uuid:region_id>")
@blp.etag
class RegionById(MethodView):
    @blp.response(200, RegionSchema)
    def get(self, region_id):
        """One region."""
        return service.get_region(unit_of_work(), current_principal(), region_id)

    @blp.arguments(RegionUpdateSchema())
    @blp.response(200, RegionSchema)
    @blp.alt_response(412, description="the region changed since it was read (If-Match)")
    def patch(self, changes, region_id):
        """Rename a region or redraw a district's boundary (admin; If-Match required)."""
        current = service.get_region(unit_of_work(), current_principal(), region_id, to_edit=True)
        blp.check_etag(current, RegionSchema)
        return service.update_region(unit_of_work(), current_principal(), region_id,
                                     expected_version=current.version, **changes)

    @blp.response(204)
    @blp.alt_response(409, description="the region still has children, coverage or jobs")
    def delete(self, region_id):
        """Delete an unused region (admin; If-Match required)."""
        current = service.get_region(unit_of_work(), current_principal(), region_id, to_edit=True)
        blp.check_etag(current, RegionSchema)
        service.delete_region(unit_of_work(), current_principal(), region_id, expected_version=current.version)
