"""Traceable serials: agents and dealers, each serial's journey (bulk-loaded), flagged activations,
and a dealer's shipped-but-never-activated serials with their free-part claims (HQ)."""

from __future__ import annotations

from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.warranty import (
    DealerUnactivatedSchema,
    FlagFilterSchema,
    JourneyEventSchema,
    JourneyLoadResultSchema,
    JourneyLoadSchema,
    PartnerCreateSchema,
    PartnerFilterSchema,
    PartnerSchema,
    UnitJourneySchema,
)
from dispatch.warranty import tracing as service

blp = Blueprint("tracing", __name__, url_prefix="/api/v1", description="Traceable serials")


@blp.route("/trade-partners")
class Partners(MethodView):
    @blp.arguments(PartnerFilterSchema(), location="query")
    @blp.response(200, PartnerSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Agents and dealers (HQ)."""
        items, total = service.list_partners(unit_of_work(), current_principal(),
                                             offset=pagination_parameters.first_item,
                                             limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(PartnerCreateSchema())
    @blp.response(201, PartnerSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the code is taken")
    def post(self, body):
        """Add an agent or a dealer (admin)."""
        return service.create_partner(unit_of_work(), current_principal(), **body)


@blp.route("/trade-partners/<string:code>/unactivated-serials")
class DealerUnactivated(MethodView):
    @blp.response(200, DealerUnactivatedSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such dealer")
    def get(self, code):
        """Serials last shipped to the dealer and never activated, with the free-part claims made for
        them (HQ)."""
        return service.dealer_unactivated(unit_of_work(), current_principal(), code)


@blp.route("/journey-events")
class JourneyEvents(MethodView):
    @blp.arguments(JourneyLoadSchema())
    @blp.response(200, JourneyLoadResultSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="an event names an unknown serial or partner, the "
                                                             "wrong kind of partner, or an impossible date "
                                                             "(`events.N.field`); nothing is loaded")
    def post(self, body):
        """Bulk-load journey events (factory_out, to_agent, to_dealer, activation) from the trade systems
        (admin). Events sent before are ignored; activations by a dealer the serial was not shipped to
        come back flagged."""
        return service.load_journey(unit_of_work(), current_principal(), tz=settings().timezone,
                                    events=body["events"])


@blp.route("/journey-events/flags")
class JourneyFlags(MethodView):
    @blp.arguments(FlagFilterSchema(), location="query")
    @blp.response(200, JourneyEventSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Flagged activations, newest first (HQ)."""
        items, total = service.list_flags(unit_of_work(), current_principal(),
                                          offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/units/<string:serial>/journey")
class UnitJourney(MethodView):
    @blp.response(200, UnitJourneySchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such serial")
    def get(self, serial):
        """A serial's journey, factory to activation, oldest first (HQ)."""
        serial, events = service.unit_journey(unit_of_work(), current_principal(), serial)
        return {"serial": serial, "events": events}
