"""The customer's visits: report a fault, follow the visit, cancel or move it, the bill, the
rating, and complaints. Another customer's ids answer 404."""

from __future__ import annotations

import functools

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.attachments import evidence_store
from dispatch.api.blueprint import page_of
from dispatch.api.deps import current_customer, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.complaints import ProposalAnswerSchema, SatisfactionSchema
from dispatch.api.schemas.customer import (
    BillConfirmSchema,
    CancelSchema,
    CustomerBillSchema,
    CustomerComplaintCreateSchema,
    CustomerComplaintSchema,
    CustomerRatingOutSchema,
    CustomerRatingSchema,
    FaultReportSchema,
    RescheduleSchema,
    VisitSchema,
)
from dispatch.api.schemas.slots import BookingCreateSchema, CustomerOfferSchema, SlotRangeSchema
from dispatch.customers import booking, visits
from dispatch.network.enums import JobType

blp = Blueprint("customer_visits", __name__, url_prefix="/api/v1/customer",
                description="The customer's visits, bills, ratings and complaints")

AUDIENCE = "customer"


@blp.route("/jobs")
class MyVisits(MethodView):
    @blp.response(200, VisitSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Your visits, newest first."""
        return page_of(pagination_parameters, functools.partial(visits.list_visits, unit_of_work(),
                                                                current_customer()))

    @blp.arguments(FaultReportSchema())
    @blp.response(201, VisitSchema)
    @blp.alt_response(404, description="not one of your units")
    @blp.alt_response(409, description="the slot picked is no longer offered (`slot-taken`); nothing was written")
    @blp.alt_response(422, description="no authorised point serves the place, or a bad window")
    def post(self, body):
        """Report a fault (repair) or ask for maintenance for one of your units, with a slot picked
        from the unit's offered slots (booked at once) or a preferred window; it is dispatched to
        the authorised point like any other intake."""
        report = {"unit_id": body["unit_id"], "type": JobType(body["type"].value), "description": body["description"],
                  "address": body["address"], "location": body["location"]}
        if body["slot"] is not None:
            visit = booking.report_and_book(unit_of_work, current_customer(), slot=body["slot"],
                                            radius_km=settings().fallback_radius_km, timezone=settings().timezone,
                                            **report)
        else:
            job = visits.report_fault(unit_of_work(), current_customer(), radius_km=settings().fallback_radius_km,
                                      tz=settings().timezone, window_start=body["window_start"],
                                      window_end=body["window_end"], **report)
            visit = visits.get_visit(unit_of_work(), current_customer(), job.id)
        return visit, {"Location": url_for("customer_visits.MyVisit", job_id=visit.job.id)}


@blp.route("/jobs/<uuid:job_id>")
class MyVisit(MethodView):
    @blp.response(200, VisitSchema)
    @blp.alt_response(404, description="not one of your visits")
    def get(self, job_id):
        """Track the visit: status, technician (name, photo, badge), ETA window, on the way."""
        return visits.get_visit(unit_of_work(), current_customer(), job_id)


@blp.route("/jobs/<uuid:job_id>/slots")
class MyVisitSlots(MethodView):
    @blp.arguments(SlotRangeSchema, location="query")
    @blp.response(200, CustomerOfferSchema)
    @blp.alt_response(404, description="not one of your visits")
    @blp.alt_response(422, description="a range in the past, backwards or longer than two weeks")
    def get(self, query, job_id):
        """The time windows the point can offer for your visit, best first (none once it is under way)."""
        return booking.visit_slots(unit_of_work(), current_customer(), job_id, first=query["first"],
                                   last=query["last"], timezone=settings().timezone)


@blp.route("/jobs/<uuid:job_id>/booking")
class BookMyVisit(MethodView):
    @blp.arguments(BookingCreateSchema)
    @blp.response(201, VisitSchema)
    @blp.alt_response(404, description="not one of your visits")
    @blp.alt_response(409, description="the window was taken meanwhile (`slot-taken`), or the visit is under way")
    @blp.alt_response(422, description="not a window of the point's grid; or, moving a booked visit, inside the "
                                       "point's notice or past its number of changes")
    def post(self, body, job_id):
        """Book one of the offered windows; a booked visit moves to the new window (a reschedule,
        within the point's rules)."""
        return booking.book_visit(unit_of_work(), current_customer(), job_id, timezone=settings().timezone, **body)


@blp.route("/jobs/<uuid:job_id>/preferred-window")
class PreferWindow(MethodView):
    @blp.arguments(RescheduleSchema)
    @blp.response(200, VisitSchema)
    @blp.alt_response(404, description="not one of your visits")
    @blp.alt_response(409, description="the visit is booked already (book another slot) or under way")
    @blp.alt_response(422, description="a window that has passed or runs backwards")
    def put(self, body, job_id):
        """Say when suits you instead of booking a slot; the point plans the visit in that window."""
        return booking.prefer_window(unit_of_work(), current_customer(), job_id, **body)


@blp.route("/jobs/<uuid:job_id>/cancellation")
class CancelVisit(MethodView):
    @blp.arguments(CancelSchema())
    @blp.response(200, VisitSchema)
    @blp.alt_response(409, description="the work has started")
    @blp.alt_response(422, description="inside the point's notice period")
    def post(self, body, job_id):
        """Cancel the visit (before the work starts, and the point's notice before a booked slot)."""
        return visits.cancel_visit(unit_of_work(), current_customer(), job_id, reason=body["reason"])


@blp.route("/jobs/<uuid:job_id>/reschedule")
class RescheduleVisit(MethodView):
    @blp.arguments(RescheduleSchema())
    @blp.response(200, VisitSchema)
    @blp.alt_response(409, description="the visit can no longer be moved")
    @blp.alt_response(422, description="inside the notice period, or moved too often")
    def post(self, body, job_id):
        """Ask for another window; the point plans the visit again."""
        return visits.reschedule_visit(unit_of_work(), current_customer(), job_id, **body)


@blp.route("/jobs/<uuid:job_id>/bill")
class MyBill(MethodView):
    @blp.response(200, CustomerBillSchema)
    @blp.alt_response(409, description="the visit is not completed yet")
    def get(self, job_id):
        """The bill, each line beside its list price."""
        return visits.get_bill(unit_of_work(), current_customer(), job_id)


@blp.route("/jobs/<uuid:job_id>/bill/confirmation")
class ConfirmBill(MethodView):
    @blp.arguments(BillConfirmSchema())
    @blp.response(201, CustomerBillSchema)
    @blp.alt_response(409, description="confirmed already, or the bill changed since you saw it")
    @blp.alt_response(422, description="a signature is needed (none was taken on site)")
    def post(self, body, job_id):
        """Confirm the bill (and sign it, unless you signed on site)."""
        return visits.confirm_bill(unit_of_work(), current_customer(), job_id, store=evidence_store(), **body)


@blp.route("/jobs/<uuid:job_id>/rating")
class RateVisit(MethodView):
    @blp.arguments(CustomerRatingSchema())
    @blp.response(201, CustomerRatingOutSchema)
    @blp.alt_response(409, description="not completed, or rated already")
    def post(self, body, job_id):
        """Rate the visit 1-5 (once)."""
        return visits.rate_visit(unit_of_work(), current_customer(), job_id, **body)


@blp.route("/complaints")
class MyComplaints(MethodView):
    @blp.response(200, CustomerComplaintSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Your complaints and where they stand."""
        return page_of(pagination_parameters, functools.partial(visits.list_complaints, unit_of_work(),
                                                                current_customer()))

    @blp.arguments(CustomerComplaintCreateSchema())
    @blp.response(201, CustomerComplaintSchema)
    @blp.alt_response(404, description="the unit or job is not yours")
    def post(self, body):
        """File a complaint (about a unit or a visit of yours, or in general)."""
        return visits.file_complaint(unit_of_work(), current_customer(), **body)


@blp.route("/complaints/<uuid:complaint_id>")
class MyComplaint(MethodView):
    @blp.response(200, CustomerComplaintSchema)
    @blp.alt_response(404, description="not one of your complaints")
    def get(self, complaint_id):
        """Follow one of your complaints."""
        return visits.get_complaint(unit_of_work(), current_customer(), complaint_id)


@blp.route("/complaints/<uuid:complaint_id>/answer")
class MyComplaintAnswer(MethodView):
    @blp.arguments(ProposalAnswerSchema)
    @blp.response(200, CustomerComplaintSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="not one of your complaints")
    @blp.alt_response(409, schema=ProblemSchema, description="no proposal is waiting for your answer")
    def post(self, body, complaint_id):
        """Accept or decline what we propose to settle your complaint."""
        return visits.answer_complaint_proposal(unit_of_work(), current_customer(), complaint_id, **body)


@blp.route("/complaints/<uuid:complaint_id>/satisfaction")
class MyComplaintSatisfaction(MethodView):
    @blp.arguments(SatisfactionSchema)
    @blp.response(200, CustomerComplaintSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="not one of your complaints")
    @blp.alt_response(409, schema=ProblemSchema, description="not closed yet, or answered already")
    def post(self, body, complaint_id):
        """Say how satisfied you are (1-5) with how a closed complaint was handled."""
        return visits.rate_complaint_handling(unit_of_work(), current_customer(), complaint_id, **body)
