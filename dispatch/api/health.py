"""Liveness and readiness probes (no auth)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from dispatch.errors import ServiceUnavailable
from dispatch.health import check_readiness

blp = Blueprint("health", __name__, description="Probes")

PUBLIC = {"health.Healthz", "health.Readyz"}


class HealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is alive."""
        return {"status": "ok", "checks": {}}


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="A dependency is unreachable (the problem lists the checks)")
    def get(self):
        """The database (and Redis, when configured) answer."""
        state = current_app.extensions["dispatch"]
        checks = check_readiness(state.session_factory, state.task_queue)
        if any(v != "ok" for v in checks.values()):
            raise ServiceUnavailable("a dependency is unreachable", checks=checks)
        return {"status": "ok", "checks": checks}
