"""Offered time slots ("when can you come?") and booking one for a job."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.slots import (
    BookingCreateSchema,
    BookingSchema,
    CustomerRulesSchema,
    OfferSchema,
    ProspectiveSlotQuerySchema,
    SlotLengthSchema,
    SlotRangeSchema,
)
from dispatch.routing import slots

blp = Blueprint("slots", __name__, url_prefix="/api/v1", description="Time slots offered to customers, and booking")


@blp.route("/jobs/<uuid:job_id>/slots")
class JobSlots(MethodView):
    @blp.arguments(SlotRangeSchema(), location="query")
    @blp.response(200, OfferSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's")
    def get(self, query, job_id):
        """The windows in which the job can be served without breaking any booked visit, skill,
        certificate, shift, break or SLA, ranked by the driving they add, each with its technician."""
        return slots.job_slots(unit_of_work(), current_principal(), job_id, first=query["first"],
                               last=query["last"], timezone=settings().timezone)


@blp.route("/service-points/<uuid:point_id>/slots")
class ProspectiveSlots(MethodView):
    @blp.arguments(ProspectiveSlotQuerySchema(), location="query")
    @blp.response(200, OfferSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    def get(self, query, point_id):
        """The same for a job not yet taken in: where, what (job type and product) and how long."""
        return slots.prospective_slots(unit_of_work(), current_principal(), point_id, first=query.pop("first"),
                                       last=query.pop("last"), timezone=settings().timezone, **query)


@blp.route("/service-points/<uuid:point_id>/slot-length")
class SlotLength(MethodView):
    @blp.arguments(SlotLengthSchema())
    @blp.response(200, SlotLengthSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    def put(self, body, point_id):
        """The length of the windows the point offers (2 hours unless it chooses otherwise)."""
        return {"minutes": slots.set_slot_length(unit_of_work(), current_principal(), point_id, **body)}


@blp.route("/jobs/<uuid:job_id>/booking")
class JobBooking(MethodView):
    @blp.arguments(BookingCreateSchema())
    @blp.response(201, BookingSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the window was taken meanwhile (`slot-taken`), "
                                                              "or the job is under way or finished")
    @blp.alt_response(422, schema=ProblemSchema, description="not a window of the point's grid")
    def post(self, body, job_id):
        """Book an offered window: the job gets the window and a tentative technician, whose calendar
        now holds the time (a second booking of the last free window is a 409)."""
        return slots.book(unit_of_work(), current_principal(), job_id, timezone=settings().timezone, **body)


@blp.route("/service-points/<uuid:point_id>/customer-rules")
class CustomerRules(MethodView):
    @blp.response(200, CustomerRulesSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    def get(self, point_id):
        """What the point's customers may do alone: cancel or move a booked visit until how many
        hours before it, and how many times they may move one visit."""
        return slots.customer_rules(unit_of_work(), current_principal(), point_id)

    @blp.arguments(CustomerRulesSchema)
    @blp.response(200, CustomerRulesSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    def put(self, body, point_id):
        """Set the point's customer rules (the fields left out keep their value)."""
        return slots.set_customer_rules(unit_of_work(), current_principal(), point_id, **body)
