"""SLA targets: on-site deadlines by job type, priority and customer grade (HQ configuration)."""

from __future__ import annotations

from flask.views import MethodView

from dispatch.api.blueprint import Blueprint
from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.schemas.jobs import SlaTargetSchema, SlaTargetUpdateSchema
from dispatch.jobs import service

blp = Blueprint("sla_targets", __name__, url_prefix="/api/v1/sla-targets",
                description="SLA targets used at job intake")


@blp.route("/")
@blp.etag  # reference data: If-None-Match answers 304 when nothing changed
class SlaTargets(MethodView):
    @blp.response(200, SlaTargetSchema(many=True))
    def get(self):
        """The whole table (HQ)."""
        return service.list_sla_targets(unit_of_work(), current_principal())


@blp.route("/<uuid:target_id>")
@blp.etag
class SlaTargetById(MethodView):
    @blp.response(200, SlaTargetSchema)
    def get(self, target_id):
        """One target (HQ)."""
        return service.get_sla_target(unit_of_work(), current_principal(), target_id)

    @blp.arguments(SlaTargetUpdateSchema())
    @blp.response(200, SlaTargetSchema)
    def patch(self, body, target_id):
        """Change hours / at-risk hours (admin, If-Match required). Existing jobs keep their due times."""
        current = service.get_sla_target(unit_of_work(), current_principal(), target_id)
        blp.check_etag(current, SlaTargetSchema)
        return service.update_sla_target(unit_of_work(), current_principal(), target_id,
                                         expected_version=current.version, **body)
