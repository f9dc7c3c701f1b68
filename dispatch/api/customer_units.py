"""The customer's units: the ones on their warranty cards, and activating one by its QR code."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.attachments import evidence_store
from dispatch.api.deps import current_customer, settings, unit_of_work
from dispatch.api.schemas.customer import MyUnitSchema, SelfActivationRequestSchema, UnitSlotQuerySchema
from dispatch.api.schemas.slots import CustomerOfferSchema
from dispatch.customers import booking, units
from dispatch.network.enums import JobType

blp = Blueprint("customer_units", __name__, url_prefix="/api/v1/customer/units",
                description="The customer's units and self-activation")

AUDIENCE = "customer"


@blp.route("/")
class MyUnits(MethodView):
    @blp.response(200, MyUnitSchema(many=True))
    def get(self):
        """Your units and their warranty."""
        return units.list_my_units(unit_of_work(), current_customer(), tz=settings().timezone)


@blp.route("/activation")
class SelfActivation(MethodView):
    @blp.arguments(SelfActivationRequestSchema())
    @blp.response(201, MyUnitSchema)
    @blp.alt_response(404, description="the code is not a genuine unit's")
    @blp.alt_response(409, description="the unit is activated already")
    def post(self, body):
        """Activate the warranty card of the unit you scanned (once; a far or late activation is
        accepted and flagged for HQ)."""
        return units.activate(unit_of_work(), current_customer(), qr_key=settings().qr_key, store=evidence_store(),
                              tz=settings().timezone, serial=body["serial"], signature=body["sig"],
                              purchased_on=body["purchased_on"], address=body["address"],
                              location=body["location"], sales_channel=body["sales_channel"],
                              invoice_photo=body["invoice_photo"])


@blp.route("/<uuid:unit_id>/slots")
class MyUnitSlots(MethodView):
    @blp.arguments(UnitSlotQuerySchema, location="query")
    @blp.response(200, CustomerOfferSchema)
    @blp.alt_response(404, description="not one of your units")
    @blp.alt_response(422, description="no authorised point serves the place, no place known, or a bad range")
    def get(self, query, unit_id):
        """Before reporting a fault: the windows the point that would come can offer at the unit's
        place (the given lat/lon, else your saved location), best first."""
        location = None if query["lat"] is None else {"lat": query["lat"], "lon": query["lon"]}
        return booking.unit_slots(unit_of_work(), current_customer(), unit_id, type=JobType(query["type"].value),
                                  first=query["first"], last=query["last"], location=location,
                                  radius_km=settings().fallback_radius_km, timezone=settings().timezone)
