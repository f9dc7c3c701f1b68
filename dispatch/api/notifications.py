"""The notification outbox: what was sent, what is retrying, what failed."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flask import request

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.notifications import (
    DeliveryReceiptCreateSchema,
    DeliveryReceiptSchema,
    NotificationFilterSchema,
    NotificationSchema,
)
from dispatch.care.senders import SIGNATURE_HEADER, TIMESTAMP_HEADER
from dispatch.care import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="Customer and HQ messages (SMS, e-mail, push) in the outbox")

PUBLIC = {"notifications.DeliveryReceipts"}


@blp.route("/")
class Notifications(MethodView):
    @blp.arguments(NotificationFilterSchema(), location="query")
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


@blp.route("/receipts")
class DeliveryReceipts(MethodView):
    @blp.doc(security=[], parameters=[
        {"in": "header", "name": TIMESTAMP_HEADER, "required": True, "schema": {"type": "string"},
         "description": "Unix seconds when the gateway signed the report"},
        {"in": "header", "name": SIGNATURE_HEADER, "required": True, "schema": {"type": "string"},
         "description": "hex HMAC-SHA256 of '<timestamp>.<body>' with DISPATCH_SMS_KEY"}])
    @blp.arguments(DeliveryReceiptCreateSchema())
    @blp.response(202, DeliveryReceiptSchema)
    @blp.alt_response(401, description="not signed with the gateway key, or older than five minutes")
    @blp.alt_response(404, description="no SMS gateway is configured")
    def post(self, body):
        """The SMS gateway reports a message's fate (delivered, failed...); no account, a signature."""
        return notifications.record_receipt(
            unit_of_work(), key=settings().sms_key, timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER), raw_body=request.get_data(cache=True),
            provider_message_id=body["message_id"], status=body["status"], error_code=body.get("error_code"),
            reported_at=body.get("reported_at"))


@blp.route("/<uuid:notification_id>/receipts")
class NotificationReceipts(MethodView):
    @blp.response(200, DeliveryReceiptSchema(many=True))
    @blp.alt_response(404, description="no such message (or another point's)")
    def get(self, notification_id):
        """What the gateway reported about one message (HQ and the message's point)."""
        return notifications.list_receipts(unit_of_work(), current_principal(), notification_id)
