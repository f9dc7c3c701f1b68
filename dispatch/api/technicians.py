"""Technicians: profiles with their login accounts, skills, certifications, weekly shifts and
dated exceptions; the computed shift calendar and qualification checks."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.schemas.technicians import (
    TechnicianCalendarQuerySchema,
    TechnicianCertificationSchema,
    TechnicianDayScheduleSchema,
    TechnicianExceptionRangeSchema,
    TechnicianQualificationQuerySchema,
    TechnicianQualificationSchema,
    TechnicianShiftExceptionSchema,
    TechnicianCreateSchema,
    TechnicianFilterSchema,
    TechnicianSchema,
    TechnicianUpdateSchema,
)
from dispatch.network import technicians as service

blp = Blueprint("technicians", __name__, url_prefix="/api/v1/technicians",
                description="Technicians, their skills, certifications and shifts")


@blp.route("/")
class Technicians(MethodView):
    @blp.arguments(TechnicianFilterSchema(), location="query")
    @blp.response(200, TechnicianSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List technicians (HQ: all; a manager: their point's)."""
        items, total = service.list_technicians(unit_of_work(), current_principal(),
                                                offset=pagination_parameters.first_item,
                                                limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(TechnicianCreateSchema())
    @blp.response(201, TechnicianSchema)
    @blp.alt_response(409, description="the username is taken or the account is linked already")
    def post(self, body):
        """Hire a technician with a new (username + password) or existing (user_id) account."""
        technician = service.create_technician(unit_of_work(), current_principal(),
                                               hash_method=settings().password_hash_method, **body)
        return technician, {"Location": url_for("technicians.TechnicianById", technician_id=technician.id)}


@blp.route("/<uuid:technician_id>")
@blp.etag
class TechnicianById(MethodView):
    @blp.response(200, TechnicianSchema)
    def get(self, technician_id):
        """One technician (a technician may read their own record)."""
        return service.get_technician(unit_of_work(), current_principal(), technician_id)

    @blp.arguments(TechnicianUpdateSchema())
    @blp.response(200, TechnicianSchema)
    @blp.alt_response(412, description="the technician changed since it was read (If-Match)")
    def patch(self, changes, technician_id):
        """Edit a technician (admin, or the manager of their point). If-Match required."""
        current = service.get_technician(unit_of_work(), current_principal(), technician_id, to_edit=True)
        blp.check_etag(current, TechnicianSchema)
        return service.update_technician(unit_of_work(), current_principal(), technician_id,
                                         expected_version=current.version, **changes)


@blp.route("/<uuid:technician_id>/shifts")
class TechnicianShifts(MethodView):
    @blp.arguments(TechnicianCalendarQuerySchema(), location="query")
    @blp.response(200, TechnicianDayScheduleSchema(many=True))
    def get(self, query, technician_id):
        """Working windows per day from ``from`` to ``to`` (inclusive, at most 62 days): the weekly
        pattern, minus leave, plus extra shifts."""
        return service.shift_calendar(unit_of_work(), current_principal(), technician_id, **query)


@blp.route("/<uuid:technician_id>/qualification")
class TechnicianQualification(MethodView):
    @blp.arguments(TechnicianQualificationQuerySchema(), location="query")
    @blp.response(200, TechnicianQualificationSchema)
    def get(self, query, technician_id):
        """May the technician do this category and job type on ``on``? (skill + valid certification)"""
        return service.qualification(unit_of_work(), current_principal(), technician_id,
                                     tz=settings().timezone, **query)


@blp.route("/<uuid:technician_id>/certifications")
class TechnicianCertifications(MethodView):
    @blp.arguments(TechnicianCertificationSchema())
    @blp.response(201, TechnicianCertificationSchema)
    def post(self, body, technician_id):
        """Add a certification (admin, or the manager of the technician's point)."""
        return service.add_certification(unit_of_work(), current_principal(), technician_id, **body)


@blp.route("/<uuid:technician_id>/certifications/<uuid:certification_id>")
class TechnicianCertificationById(MethodView):
    @blp.response(204)
    def delete(self, technician_id, certification_id):
        """Withdraw a certification."""
        service.remove_certification(unit_of_work(), current_principal(), technician_id, certification_id)


@blp.route("/<uuid:technician_id>/shift-exceptions")
class TechnicianShiftExceptions(MethodView):
    @blp.arguments(TechnicianExceptionRangeSchema(), location="query")
    @blp.response(200, TechnicianShiftExceptionSchema(many=True))
    @blp.paginate()
    def get(self, query, technician_id, pagination_parameters):
        """Leave and extra shifts, by date."""
        items, total = service.list_shift_exceptions(unit_of_work(), current_principal(), technician_id,
                                                     offset=pagination_parameters.first_item,
                                                     limit=pagination_parameters.page_size, **query)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(TechnicianShiftExceptionSchema())
    @blp.response(201, TechnicianShiftExceptionSchema)
    @blp.alt_response(409, description="an exception of the same kind overlaps it")
    def post(self, body, technician_id):
        """Record leave (all day without times, or a span) or an extra shift on a date."""
        return service.add_shift_exception(unit_of_work(), current_principal(), technician_id, **body)


@blp.route("/<uuid:technician_id>/shift-exceptions/<uuid:exception_id>")
class TechnicianShiftExceptionById(MethodView):
    @blp.response(204)
    def delete(self, technician_id, exception_id):
        """Cancel a leave or an extra shift."""
        service.remove_shift_exception(unit_of_work(), current_principal(), technician_id, exception_id)
