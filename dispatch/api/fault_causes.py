"""HQ's fault cause catalogue, and the cause each repair found (required to complete a repair)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.warranty import (
    FaultCauseCreateSchema,
    FaultCauseFilterSchema,
    FaultCauseSchema,
    FaultCauseUpdateSchema,
    JobFaultCauseInputSchema,
    JobFaultCauseSchema,
)
from dispatch.warranty import causes as service

blp = Blueprint("fault_causes", __name__, url_prefix="/api/v1", description="Fault causes")


@blp.route("/fault-causes")
class FaultCauses(MethodView):
    @blp.arguments(FaultCauseFilterSchema(), location="query")
    @blp.response(200, FaultCauseSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """The catalogue (every role), by category, kind (defect / misuse) and whether still offered."""
        items, total = service.list_causes(unit_of_work(), current_principal(),
                                           offset=pagination_parameters.first_item,
                                           limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(FaultCauseCreateSchema())
    @blp.response(201, FaultCauseSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the code is taken")
    def post(self, body):
        """Add a cause: product category, component, symptom, cause, and defect or misuse (admin)."""
        row = service.create_cause(unit_of_work(), current_principal(), **body)
        return row, {"Location": url_for("fault_causes.FaultCauseById", cause_id=row.id)}


@blp.route("/fault-causes/<uuid:cause_id>")
@blp.etag
class FaultCauseById(MethodView):
    @blp.response(200, FaultCauseSchema)
    def get(self, cause_id):
        """One cause."""
        return service.get_cause(unit_of_work(), current_principal(), cause_id)

    @blp.arguments(FaultCauseUpdateSchema())
    @blp.response(200, FaultCauseSchema)
    @blp.alt_response(412, schema=ProblemSchema, description="changed since it was read (If-Match)")
    def patch(self, changes, cause_id):
        """Correct a cause, or retire it with `active: false` (admin; If-Match required)."""
        principal = current_principal()
        current = service.get_cause(unit_of_work(), principal, cause_id)
        blp.check_etag(current, FaultCauseSchema)
        return service.update_cause(unit_of_work(), principal, cause_id, expected_version=current.version,
                                    **changes)


@blp.route("/jobs/<uuid:job_id>/fault-cause")
class JobFaultCause(MethodView):
    @blp.response(200, JobFaultCauseSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's")
    def get(self, job_id):
        """The fault cause the repair found (`fault_cause` null until one is recorded)."""
        return service.get_job_cause(unit_of_work(), current_principal(), job_id)

    @blp.arguments(JobFaultCauseInputSchema())
    @blp.response(200, JobFaultCauseSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="not a repair, or the repair is finished")
    @blp.alt_response(422, schema=ProblemSchema, description="unknown or retired cause, or another category's")
    def put(self, body, job_id):
        """Record or correct the repair's fault cause (assigned technician, point manager, admin). A misuse
        cause makes the repair chargeable at list price and rejects its warranty claims with that reason."""
        return service.set_job_cause(unit_of_work(), current_principal(), job_id,
                                     code=body.get("fault_cause_code"), cause_id=body.get("fault_cause_id"),
                                     note=body["note"])
