"""Units and warranty cards: the registry by serial (QR payload), activation once, HQ re-binding
with history, and the warranty check technicians run at the door."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.units import (
    UnitActivationCreateSchema,
    UnitRebindSchema,
    UnitCreateSchema,
    UnitFilterSchema,
    UnitSchema,
    UnitUpdateSchema,
    UnitWarrantyQuerySchema,
    UnitWarrantySchema,
)
from dispatch.network import units as service

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units and warranty cards")


@blp.route("/")
class Units(MethodView):
    @blp.arguments(UnitFilterSchema(), location="query")
    @blp.response(200, UnitSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Browse the registry (owners' personal data masked unless the caller's)."""
        items, total = service.list_units(unit_of_work(), current_principal(), tz=settings().timezone,
                                          offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(UnitCreateSchema())
    @blp.response(201, UnitSchema)
    @blp.alt_response(409, description="the serial is registered already")
    def post(self, body):
        """Register a manufactured unit (admin)."""
        unit = service.register_unit(unit_of_work(), current_principal(), tz=settings().timezone, **body)
        return unit, {"Location": url_for("units.UnitBySerial", serial=unit.serial)}


@blp.route("/<string:serial>")
@blp.etag
class UnitBySerial(MethodView):
    @blp.response(200, UnitSchema)
    @blp.alt_response(404, description="no unit has this serial")
    @blp.alt_response(422, description="not a serial number")
    def get(self, serial):
        """Look a unit up by the serial in its QR code (any role)."""
        return service.get_unit(unit_of_work(), current_principal(), serial, tz=settings().timezone)

    @blp.arguments(UnitUpdateSchema())
    @blp.response(200, UnitSchema)
    @blp.alt_response(412, description="the unit changed since it was read (If-Match)")
    def patch(self, changes, serial):
        """Correct the model or manufacture date (admin; If-Match required)."""
        current = service.get_unit(unit_of_work(), current_principal(), serial, tz=settings().timezone,
                                   to_edit=True)
        blp.check_etag(current, UnitSchema)
        return service.update_unit(unit_of_work(), current_principal(), serial, tz=settings().timezone,
                                   expected_version=current.version, **changes)


@blp.route("/<string:serial>/activation")
class UnitActivation(MethodView):
    @idempotent
    @blp.arguments(UnitActivationCreateSchema())
    @blp.response(201, UnitSchema)
    @blp.alt_response(404, description="no unit has this serial")
    @blp.alt_response(409, description="the unit is activated already")
    @blp.alt_response(422, description="purchase date in the future or before manufacture")
    def post(self, body, serial):
        """Activate the warranty card: bind the unit to its buyer, once."""
        unit = service.activate_unit(unit_of_work(), current_principal(), serial, tz=settings().timezone, **body)
        return unit, {"Location": url_for("units.UnitBySerial", serial=unit.serial)}

    @blp.arguments(UnitRebindSchema())
    @blp.response(200, UnitSchema)
    @blp.alt_response(409, description="the unit has never been activated")
    def put(self, body, serial):
        """Re-bind the card to another customer (admin, with a reason); the old card stays in history."""
        return service.rebind_unit(unit_of_work(), current_principal(), serial, tz=settings().timezone, **body)


@blp.route("/<string:serial>/warranty")
class UnitWarranty(MethodView):
    @blp.arguments(UnitWarrantyQuerySchema(), location="query")
    @blp.response(200, UnitWarrantySchema)
    @blp.alt_response(404, description="no unit has this serial")
    def get(self, query, serial):
        """Is the unit under warranty (today or ``on``), until when, and what is covered."""
        return service.warranty(unit_of_work(), current_principal(), serial, tz=settings().timezone, **query)
