"""Route plans: request one for a point's day (solved in the background), read it with ETAs and a map,
apply it to the jobs, and insert urgent jobs into an applied plan."""

from __future__ import annotations

from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.plans import (
    PlanInsertionCreateSchema,
    PlanInsertionSchema,
    RoutePlanCreateSchema,
    RoutePlanFilterSchema,
    RoutePlanSchema,
    RoutePlanSummarySchema,
)
from dispatch.routing import insertion, service, views

blp = Blueprint("plans", __name__, url_prefix="/api/v1", description="Route plans: each technician's day")


@blp.route("/service-points/<uuid:point_id>/plans")
class PointPlans(MethodView):
    @blp.arguments(RoutePlanFilterSchema(), location="query")
    @blp.response(200, RoutePlanSummarySchema(many=True))
    @blp.paginate()
    def get(self, filters, point_id, pagination_parameters):
        """The point's plans, newest first."""
        items, total = views.list_plans(unit_of_work(), current_principal(), point_id=point_id,
                                          day=filters.get("date"), status=filters.get("status"),
                                          offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items

    @idempotent
    @blp.arguments(RoutePlanCreateSchema())
    @blp.response(202, RoutePlanSummarySchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such point, or not the caller's")
    @blp.alt_response(422, schema=ProblemSchema, description="the date is in the past or too far ahead, or "
                                                              "date_to is before it or over a week after it")
    def post(self, body, point_id):
        """Plan the point's day (or days: `date_to`, up to a week) in the background; poll the plan
        (`Location`) until it is done."""
        plan = service.request_plan(
            unit_of_work(), task_queue(), current_principal(), point_id=point_id, day=body["date"],
            time_limit_s=body["time_limit_s"] or settings().solve_time_limit_s, seed=body["seed"],
            timezone=settings().timezone, balance_weight=body["balance_weight"], wait_cost=body["wait_cost"],
            last_day=body["date_to"],
        )
        return plan, {"Location": url_for("plans.PlanById", plan_id=plan.id)}


@blp.route("/plans/<uuid:plan_id>")
class PlanById(MethodView):
    @blp.response(200, RoutePlanSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such plan, or not the caller's")
    def get(self, plan_id):
        """Status, progress and statistics; when done, routes with ETAs and unassigned jobs with reasons."""
        return views.get_plan(unit_of_work(), current_principal(), plan_id)


@blp.route("/plans/<uuid:plan_id>/apply")
class PlanApplication(MethodView):
    @blp.response(200, RoutePlanSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="not done, applied already, or jobs changed since "
                                                              "planning (`changed_jobs`)")
    def post(self, plan_id):
        """Schedule every planned job on its technician at its planned start, in one transaction."""
        return service.apply_plan(unit_of_work(), current_principal(), plan_id)


@blp.route("/plans/<uuid:plan_id>/insertions")
class PlanInsertions(MethodView):
    @blp.arguments(PlanInsertionCreateSchema())
    @blp.response(201, PlanInsertionSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="plan not applied, job not dispatched, or the day "
                                                              "changed meanwhile")
    @blp.alt_response(422, schema=ProblemSchema, description="the job fits nowhere without bumping a promised "
                                                              "job (`reason`)")
    @blp.alt_response(503, schema=ProblemSchema, description="the planner did not answer within its hard "
                                                              "deadline; nothing changed, try again")
    def post(self, body, plan_id):
        """Insert an urgent job into the applied plan with least disruption and apply the changes.

        The job goes where it meets its SLA due time whenever any technician can; when none can,
        it goes as early as possible and `sla` gives the projected breach in minutes (the job's
        `sla_status` is then `at_risk`, and `breached` once the due time passes)."""
        return insertion.insert_job(unit_of_work(), current_principal(), plan_id=plan_id, **body)


@blp.route("/plans/<uuid:plan_id>/map.svg")
class PlanMap(MethodView):
    @blp.response(200, content_type="image/svg+xml", description="the routes drawn on their coordinates")
    @blp.alt_response(404, schema=ProblemSchema, description="no such plan, or not the caller's")
    def get(self, plan_id):
        """The plan as an SVG map: one colour per technician, numbered stops, start squares."""
        svg = views.plan_map_svg(unit_of_work(), current_principal(), plan_id)
        return Response(svg, mimetype="image/svg+xml")
