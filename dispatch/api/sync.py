"""Mobile sync: pull changes, push mutations (offline-first)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.idempotency import documented, replayed_headers
from dispatch.api.schemas.sync import PullPageSchema, PullQuerySchema, PushResultSchema, PushSchema, \
    QuarantinedEvidenceSchema
from dispatch.sync import service

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Offline sync for the technicians' app")


def _config() -> service.SyncConfig:
    return service.SyncConfig(secret_key=settings().secret_key, timezone=settings().timezone)


@blp.route("/sync/changes")
class Changes(MethodView):
    @blp.arguments(PullQuerySchema(), location="query")
    @blp.response(200, PullPageSchema)
    @blp.alt_response(410, description="Cursor forged, foreign or too old: reset_required, pull a snapshot")
    def get(self, query):
        """A page of changes to the caller's jobs, checklists and van stock (no cursor: snapshot)."""
        return service.pull(unit_of_work(), current_principal(), _config(), **query)


@blp.route("/sync/mutations")
class Mutations(MethodView):
    @documented
    @blp.arguments(PushSchema())
    @blp.response(200, PushResultSchema)
    @blp.alt_response(503, description="Database unavailable: nothing was applied; retry after Retry-After")
    def post(self, batch):
        """Apply a batch of offline mutations, each at most once (see the results per mutation)."""
        reply = service.push(unit_of_work(), current_principal(), device_id=batch["device_id"],
                             mutations=batch["mutations"], app_version=batch["app_version"],
                             idempotency_key=request.headers.get("Idempotency-Key"),
                             raw_mutations=(request.get_json(silent=True) or {}).get("mutations"),
                             sent_at=batch["sent_at"])
        return reply.body, replayed_headers(reply.replayed)


@blp.route("/jobs/<uuid:job_id>/quarantine")
class JobQuarantine(MethodView):
    @blp.response(200, QuarantinedEvidenceSchema(many=True))
    def get(self, job_id):
        """Work pushed for this job after it left the technician (kept, never dropped)."""
        return service.quarantined_for_job(unit_of_work(), current_principal(), job_id)
