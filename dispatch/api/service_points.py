"""Authorised service points: registration, coverage, and the authorisation lifecycle
(authorise, suspend, reinstate, revoke) with exclusive coverage per region and category."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.schemas.service_points import (
    PointAuthoriseSchema,
    PointOptionalReasonSchema,
    PointReasonSchema,
    ServicePointCreateSchema,
    ServicePointFilterSchema,
    ServicePointSchema,
    ServicePointUpdateSchema,
)
from dispatch.audits import scorecards
from dispatch.network import service_points as service

blp = Blueprint("service_points", __name__, url_prefix="/api/v1/service-points",
                description="Authorised service points, their coverage and authorisation history")

CONFLICT = "another active point already serves one of the (region, category) pairs; the body names it"


@blp.route("/")
@blp.etag  # reference data: If-None-Match answers 304 when nothing changed
class ServicePoints(MethodView):
    @blp.arguments(ServicePointFilterSchema(), location="query")
    @blp.response(200, ServicePointSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List points (HQ: all; a manager or technician: their own)."""
        flagged_ids = (scorecards.flagged_point_ids(unit_of_work(), tz=settings().timezone)
                       if filters.get("flagged") is not None else ())
        items, total = service.list_service_points(unit_of_work(), current_principal(),
                                                   offset=pagination_parameters.first_item,
                                                   limit=pagination_parameters.page_size,
                                                   flagged_ids=flagged_ids, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(ServicePointCreateSchema())
    @blp.response(201, ServicePointSchema)
    @blp.alt_response(409, description="the code is taken")
    def post(self, body):
        """Register a point (admin). It starts ``pending`` and serves nothing until authorised."""
        point = service.create_service_point(unit_of_work(), current_principal(), **body)
        return point, {"Location": url_for("service_points.ServicePointById", point_id=point.id)}


@blp.route("/<uuid:point_id>")
@blp.etag
class ServicePointById(MethodView):
    @blp.response(200, ServicePointSchema)
    def get(self, point_id):
        """One point with its coverage and status history."""
        return service.get_service_point(unit_of_work(), current_principal(), point_id)

    @blp.arguments(ServicePointUpdateSchema())
    @blp.response(200, ServicePointSchema)
    @blp.alt_response(409, description=CONFLICT)
    @blp.alt_response(412, description="the point changed since it was read (If-Match)")
    def patch(self, changes, point_id):
        """Edit a point (admin: anything but the status; its manager: address and contact).
        If-Match required."""
        current = service.get_service_point(unit_of_work(), current_principal(), point_id, to_edit=True)
        blp.check_etag(current, ServicePointSchema)
        return service.update_service_point(unit_of_work(), current_principal(), point_id,
                                            tz=settings().timezone, expected_version=current.version, **changes)


@blp.route("/<uuid:point_id>/authorise")
class Authorise(MethodView):
    @blp.arguments(PointAuthoriseSchema())
    @blp.response(200, ServicePointSchema)
    @blp.alt_response(409, description=CONFLICT + "; or the point is suspended or revoked")
    def post(self, body, point_id):
        """Authorise a pending point or renew an active one's validity period (admin)."""
        return service.authorise(unit_of_work(), current_principal(), point_id, tz=settings().timezone, **body)


@blp.route("/<uuid:point_id>/suspend")
class Suspend(MethodView):
    @blp.arguments(PointReasonSchema())
    @blp.response(200, ServicePointSchema)
    @blp.alt_response(409, description="the point is not active")
    def post(self, body, point_id):
        """Suspend an active point, with a reason (admin)."""
        return service.suspend(unit_of_work(), current_principal(), point_id, **body)


@blp.route("/<uuid:point_id>/reinstate")
class Reinstate(MethodView):
    @blp.arguments(PointOptionalReasonSchema())
    @blp.response(200, ServicePointSchema)
    @blp.alt_response(409, description=CONFLICT + "; or the point is not suspended")
    def post(self, body, point_id):
        """Reinstate a suspended point (admin)."""
        return service.reinstate(unit_of_work(), current_principal(), point_id, tz=settings().timezone, **body)


@blp.route("/<uuid:point_id>/revoke")
class Revoke(MethodView):
    @blp.arguments(PointReasonSchema())
    @blp.response(200, ServicePointSchema)
    @blp.alt_response(409, description="the point is revoked already")
    def post(self, body, point_id):
        """Revoke a point for good, with a reason (admin)."""
        return service.revoke(unit_of_work(), current_principal(), point_id, **body)
