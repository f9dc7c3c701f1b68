"""Parts on a job (expected, reserved, fitted), the job's bill, and the labour rate table.

Routes live under /api/v1/jobs/{id}/... next to the jobs blueprint (a separate blueprint with
its own name).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.job_parts import (
    BillSchema,
    ConsumptionSchema,
    ExpectedPartsUpdateSchema,
    JobPartsSchema,
    LabourRateSchema,
    LabourRateUpdateSchema,
    PriceOverridesSchema,
)
from dispatch.network.enums import JobType
from dispatch.stock import billing, catalogue, job_parts

blp = Blueprint("job_parts", __name__, url_prefix="/api/v1", description="Parts on jobs, bills, labour rates")


@blp.route("/jobs/<uuid:job_id>/parts")
class JobParts(MethodView):
    @blp.response(200, JobPartsSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's to see")
    def get(self, job_id):
        """Expected parts (with shortage warnings), reservations, parts fitted and warranty claims."""
        return job_parts.get_job_parts(unit_of_work(), current_principal(), job_id)

    @blp.arguments(ConsumptionSchema())
    @blp.response(201, JobPartsSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="insufficient-stock (nothing recorded), or the job "
                                                             "is not on site / completed")
    @blp.alt_response(403, schema=ProblemSchema, description="only the assigned technician (or the manager); only "
                                                             "the manager overrides a part that does not fit")
    @blp.alt_response(422, schema=ProblemSchema, description="invalid lines, or `part-does-not-fit`: the part does "
                                                             "not fit the job's product (no `override_reason`)")
    def post(self, body, job_id):
        """Record parts fitted (one part, or `lines`): taken from the job's reservation, else available stock.
        Each part must fit the job's product, unless the point's manager overrides with a reason."""
        return job_parts.consume_parts(unit_of_work(), current_principal(), job_id, body["lines"],
                                       tz=settings().timezone, override_reason=body["override_reason"])


@blp.route("/jobs/<uuid:job_id>/parts/expected")
class JobExpectedParts(MethodView):
    @blp.arguments(ExpectedPartsUpdateSchema())
    @blp.response(200, JobPartsSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the job is finished")
    def put(self, body, job_id):
        """Set the parts the job is expected to need (point manager or admin); reserved once scheduled."""
        return job_parts.set_expected_parts(unit_of_work(), current_principal(), job_id, body["parts"])


@blp.route("/jobs/<uuid:job_id>/parts/reservations")
class JobReservations(MethodView):
    @blp.response(200, JobPartsSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the job is not scheduled, en route or on site")
    def post(self, job_id):
        """Try again to reserve what is short (e.g. after a transfer arrived)."""
        return job_parts.reserve_missing(unit_of_work(), current_principal(), job_id)


@blp.route("/jobs/<uuid:job_id>/bill")
class JobBill(MethodView):
    @blp.response(200, BillSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's to see")
    def get(self, job_id):
        """Labour (rate table) plus parts at list price; warranty-covered lines cost 0."""
        return billing.get_bill(unit_of_work(), current_principal(), job_id)


@blp.route("/jobs/<uuid:job_id>/bill/overrides")
class JobBillOverrides(MethodView):
    @blp.arguments(PriceOverridesSchema())
    @blp.response(200, BillSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="a price above list (never billable)")
    def put(self, body, job_id):
        """Lower line prices (goodwill; point manager or admin). Above list price is refused."""
        return billing.set_price_overrides(unit_of_work(), current_principal(), job_id, body["overrides"])


@blp.route("/labour-rates")
class LabourRates(MethodView):
    @blp.response(200, LabourRateSchema(many=True))
    def get(self):
        """Labour charged to out-of-warranty customers, by job type."""
        return catalogue.list_labour_rates(unit_of_work(), current_principal())


@blp.route(f"/labour-rates/<any({', '.join(t.value for t in JobType)}):job_type>")
class LabourRateByType(MethodView):
    @blp.arguments(LabourRateUpdateSchema())
    @blp.response(200, LabourRateSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def put(self, body, job_type):
        """Set the labour rate of a job type (admin)."""
        return catalogue.set_labour_rate(unit_of_work(), current_principal(), JobType(job_type), **body)
