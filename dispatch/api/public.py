"""Public look-ups, no account: the unit behind a QR code, the technician behind a badge, the
price list of a model. Budget per client address: DISPATCH_PUBLIC_RATE_LIMIT."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import limiter, settings, unit_of_work
from dispatch.api.schemas.customer import (
    BadgeQuerySchema,
    PriceListSchema,
    PublicUnitQuerySchema,
    PublicUnitSchema,
    TechnicianCheckSchema,
)
from dispatch.customers import public
from dispatch.geo import Location

blp = Blueprint("public", __name__, url_prefix="/api/v1/public",
                description="Anti-counterfeit and price look-ups anyone may make (rate-limited)")

PUBLIC = {"public.PublicUnit", "public.VerifyTechnician", "public.PriceList"}


@blp.before_request
def limit_public_lookups():
    limiter("public").check(f"public:{request.remote_addr}")


@blp.route("/units/<string:serial>")
class PublicUnit(MethodView):
    @blp.doc(security=[])
    @blp.arguments(PublicUnitQuerySchema(), location="query")
    @blp.response(200, PublicUnitSchema)
    @blp.alt_response(404, description="not a genuine unit's code (wrong signature, unknown serial: alike)")
    @blp.alt_response(429, description="too many look-ups from this address")
    def get(self, query, serial):
        """Scan a unit's QR code: model, genuine, activated, warranty end (no personal data), and the
        authorised point for an address (``lat``/``lon`` or ``region_code``)."""
        location = Location(query["lat"], query["lon"]) if query["lat"] is not None else None
        return public.unit_lookup(unit_of_work(), qr_key=settings().qr_key, serial=serial, signature=query["sig"],
                                  tz=settings().timezone, radius_km=settings().fallback_radius_km,
                                  location=location, region_code=query["region_code"])


@blp.route("/technicians/verify")
class VerifyTechnician(MethodView):
    @blp.doc(security=[])
    @blp.arguments(BadgeQuerySchema(), location="query")
    @blp.response(200, TechnicianCheckSchema)
    @blp.alt_response(429, description="too many look-ups from this address")
    def get(self, query):
        """Is the person at the door an authorised technician of an authorised point today? Their
        photo, point and valid certificates, and nothing else; any "no" looks the same."""
        return public.verify_technician(unit_of_work(), qr_key=settings().qr_key, tz=settings().timezone,
                                        badge=query["badge"], signature=query["sig"])


@blp.route("/products/<string:sku>/price-list")
class PriceList(MethodView):
    @blp.doc(security=[])
    @blp.response(200, PriceListSchema)
    @blp.alt_response(404, description="no model has this SKU")
    @blp.alt_response(429, description="too many look-ups from this address")
    def get(self, sku):
        """The published prices: parts fitting the model at list price, labour by job type, and
        what the warranty covers."""
        return public.price_list(unit_of_work(), sku)
