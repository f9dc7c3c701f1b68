"""A technician's route of a day: their own (technicians), or any of the point's (managers, HQ)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.technician_routes import DayRouteSchema, RouteDateSchema
from dispatch.routing import technician_day

blp = Blueprint("technician_routes", __name__, url_prefix="/api/v1/technicians",
                description="Technicians' routes of a day (stops, ETAs, break, travel)")


@blp.route("/me/route")
class MyRoute(MethodView):
    @blp.arguments(RouteDateSchema(), location="query")
    @blp.response(200, DayRouteSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="the caller is not a technician")
    def get(self, query):
        """The caller's own route of the day: stops in order with ETAs, legs, the break, the drive home."""
        return technician_day.route_of(unit_of_work(), current_principal(), None, day=query["date"],
                                       timezone=settings().timezone)


@blp.route("/<uuid:technician_id>/route")
class TechnicianRoute(MethodView):
    @blp.arguments(RouteDateSchema(), location="query")
    @blp.response(200, DayRouteSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such technician, or not the caller's to see "
                                                              "(a technician sees only their own)")
    def get(self, query, technician_id):
        """A technician's route of the day (managers: their point's; technicians: only their own)."""
        return technician_day.route_of(unit_of_work(), current_principal(), technician_id, day=query["date"],
                                       timezone=settings().timezone)
