"""Maintenance plans: one per activated unit with a maintenance interval."""

from __future__ import annotations

from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.maintenance import (
    GenerationQueuedSchema,
    GenerationRequestSchema,
    MaintenancePlanFilterSchema,
    MaintenancePlanSchema,
    MaintenancePlanUpdateSchema,
)
from dispatch.care import maintenance

blp = Blueprint("maintenance", __name__, url_prefix="/api/v1/maintenance-plans",
                description="Maintenance plans and the nightly creation of maintenance jobs")


@blp.route("/")
class MaintenancePlans(MethodView):
    @blp.arguments(MaintenancePlanFilterSchema(), location="query")
    @blp.response(200, MaintenancePlanSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Plans by next due date (HQ: all; a manager: the plans their point served last)."""
        items, total = maintenance.list_plans(unit_of_work(), current_principal(),
                                              offset=pagination_parameters.first_item,
                                              limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:plan_id>")
@blp.etag
class MaintenancePlanById(MethodView):
    @blp.response(200, MaintenancePlanSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such plan, or not the caller's to see")
    def get(self, plan_id):
        """One plan with the due dates jobs were created for."""
        return maintenance.get_plan(unit_of_work(), current_principal(), plan_id)

    @blp.arguments(MaintenancePlanUpdateSchema())
    @blp.response(200, MaintenancePlanSchema)
    @blp.alt_response(412, schema=ProblemSchema, description="If-Match does not match the current plan")
    @blp.alt_response(428, schema=ProblemSchema, description="If-Match is required")
    def patch(self, body, plan_id):
        """Tune the interval, move the next due date, or pause the plan (If-Match required)."""
        current = maintenance.get_plan(unit_of_work(), current_principal(), plan_id)
        blp.check_etag(current, MaintenancePlanSchema)
        return maintenance.update_plan(unit_of_work(), current_principal(), plan_id,
                                       expected_version=current.version, **body)


@blp.route("/generation")
class MaintenanceGeneration(MethodView):
    @blp.arguments(GenerationRequestSchema())
    @blp.response(202, GenerationQueuedSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self, body):
        """Run the nightly job creation now (idempotent: a due date never gets a second job)."""
        return maintenance.request_generation(unit_of_work(), current_principal(), task_queue(), tz=settings().timezone,
                                              **body)
