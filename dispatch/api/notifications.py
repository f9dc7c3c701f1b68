"""The notification outbox: what was sent, what is retrying, what failed."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.notifications import NotificationFilterSchema, NotificationSchema
from dispatch.care import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="Customer and HQ messages (SMS, e-mail, push) in the outbox")


@blp.route("/")
class Notifications(MethodView):
    @blp.arguments(NotificationFilterSchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Messages, newest first (`?status=failed` lists the ones that gave up). HQ and managers."""
        items, total = notifications.list_notifications(unit_of_work(), current_principal(),
                                                        offset=pagination_parameters.first_item,
                                                        limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:notification_id>/retry")
class NotificationRetry(MethodView):
    @blp.response(200, NotificationSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="only failed messages are retried")
    def post(self, notification_id):
        """Give a failed message a fresh set of attempts."""
        return notifications.retry_notification(unit_of_work(), current_principal(), notification_id)
