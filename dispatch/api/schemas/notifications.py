"""The notification outbox."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.care import templates
from dispatch.care.enums import Channel, NotificationStatus


class NotificationSchema(Schema):
    id = fields.UUID()
    channel = fields.Enum(Channel, by_value=True)
    recipient = fields.String()
    template = fields.String()
    payload = fields.Method("_payload", metadata={"type": "object", "description": "the facts of the message "
                                                  "(secret ones, e.g. a sign-in code, shown as ******)"})
    status = fields.Enum(NotificationStatus, by_value=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(metadata={"description": "when a pending message is tried (again)"})
    last_error = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    customer_id = fields.UUID(allow_none=True)
    service_point_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    provider_message_id = fields.String(allow_none=True)

    def _payload(self, message) -> dict:
        return templates.masked(message.template, dict(message.payload))


class NotificationFilterSchema(Schema):
    status = fields.Enum(NotificationStatus, by_value=True)
    channel = fields.Enum(Channel, by_value=True)
    template = fields.String()
    job_id = fields.UUID()
    service_point_id = fields.UUID()


class DeliveryReceiptCreateSchema(Schema):
    message_id = fields.String(required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "the gateway's id of the message (its answer to the send)"})
    status = fields.String(required=True, validate=validate.Length(min=1, max=32),
                           metadata={"description": "the gateway's word: delivered, failed, expired..."})
    error_code = fields.String(allow_none=True, validate=validate.Length(max=64))
    reported_at = fields.AwareDateTime(allow_none=True)


class DeliveryReceiptSchema(Schema):
    id = fields.UUID()
    notification_id = fields.UUID(allow_none=True)
    provider_message_id = fields.String()
    status = fields.String()
    error_code = fields.String(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
