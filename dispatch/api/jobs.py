"""Jobs: intake with dispatch to the authorised point, reads, and the lifecycle actions."""

from __future__ import annotations

import functools

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.blueprint import page_of
from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.idempotency import idempotent
from dispatch.api.schemas.jobs import (
    AssignmentSchema,
    CrewSchema,
    JobCreateSchema,
    JobDetailSchema,
    JobFilterSchema,
    JobSchema,
    TransferSchema,
    TransitionSchema,
)
from dispatch.jobs import crews, intake, listing, service

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Field jobs: intake, dispatch, lifecycle")


@blp.route("/")
class Jobs(MethodView):
    @blp.arguments(JobFilterSchema(), location="query")
    @blp.response(200, JobSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List jobs (HQ: all; a manager: their point's; a technician: their own), filtered in SQL."""
        return page_of(pagination_parameters, functools.partial(
            listing.list_job_views, unit_of_work(), current_principal(), tz=settings().timezone, **filters))

    @idempotent
    @blp.arguments(JobCreateSchema())
    @blp.response(201, JobDetailSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="invalid input, or no point covers the place "
                                                               "(code `no-coverage`)")
    @blp.alt_response(403, schema=ProblemSchema, description="only the call centre (admin) and managers")
    def post(self, body):
        """Take a job in; it is dispatched to the authorised point (see `dispatch` in the answer)."""
        job = intake.create_job(unit_of_work(), current_principal(), radius_km=settings().fallback_radius_km,
                                 tz=settings().timezone, **body)
        return job, {"Location": url_for("jobs.JobById", job_id=job.id)}


@blp.route("/<uuid:job_id>")
@blp.etag  # If-None-Match answers 304 while the job and its history are unchanged
class JobById(MethodView):
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's to see")
    def get(self, job_id):
        """One job with its event history."""
        return service.get_job(unit_of_work(), current_principal(), job_id)


@blp.route("/<uuid:job_id>/transitions")
class JobTransitions(MethodView):
    @blp.arguments(TransitionSchema())
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="illegal transition; `allowed` lists the legal ones")
    @blp.alt_response(403, schema=ProblemSchema, description="the caller may not make this move")
    def post(self, body, job_id):
        """Move the job to another status (en_route, on_site, completed: the assigned technician only)."""
        return service.transition_job(unit_of_work(), current_principal(), job_id, **body)


@blp.route("/<uuid:job_id>/assignment")
class JobAssignment(MethodView):
    @blp.arguments(AssignmentSchema())
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="an assignment rule failed; `rule` names it")
    def post(self, body, job_id):
        """Give the job a technician and a start time (the point's manager or an admin); a crew job also
        its helpers (`helper_ids`), booked for the same slot."""
        return service.assign_job(unit_of_work(), current_principal(), job_id, tz=settings().timezone, **body)


@blp.route("/<uuid:job_id>/crew")
class JobCrew(MethodView):
    @blp.arguments(CrewSchema)
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the job holds a slot: unschedule it first")
    @blp.alt_response(403, schema=ProblemSchema, description="the point's manager or an HQ admin only")
    def post(self, body, job_id):
        """Say how many technicians the job needs on site together (a lead and helpers)."""
        return crews.size_crew(unit_of_work(), current_principal(), job_id, **body)


@blp.route("/<uuid:job_id>/transfer")
class JobTransfer(MethodView):
    @blp.arguments(TransferSchema())
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the job is past the point of transfer")
    def post(self, body, job_id):
        """HQ moves the job to another authorised point; it is dispatched there again."""
        return service.transfer_job(unit_of_work(), current_principal(), job_id, tz=settings().timezone, **body)
