"""Background task monitoring for HQ admins."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from dispatch.api.deps import current_principal, task_queue
from dispatch.auth.enums import Role

blp = Blueprint("admin_tasks", __name__, url_prefix="/api/v1/admin/tasks", description="Background tasks (admin)")


class FailedTaskSchema(Schema):
    id = fields.String()
    queue = fields.String()
    task = fields.String()
    args = fields.List(fields.Raw())
    error = fields.String()
    ended_at = fields.DateTime(allow_none=True)
    retries_left = fields.Integer()


class FailedFilterSchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class QueueDepthSchema(Schema):
    queues = fields.Dict(keys=fields.String(), values=fields.Integer())


@blp.route("/failed")
class FailedTasks(MethodView):
    @blp.arguments(FailedFilterSchema(), location="query")
    @blp.response(200, FailedTaskSchema(many=True))
    def get(self, args):
        """Tasks that failed (after their retries), newest first."""
        current_principal().require(Role.ADMIN)
        return task_queue().failed(limit=args["limit"])


@blp.route("/queues")
class QueueDepths(MethodView):
    @blp.response(200, QueueDepthSchema)
    def get(self):
        """How many tasks wait in each queue."""
        current_principal().require(Role.ADMIN)
        return {"queues": task_queue().depths()}
