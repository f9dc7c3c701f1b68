"""The notification outbox."""

from __future__ import annotations

from marshmallow import Schema, fields

from dispatch.care.enums import Channel, NotificationStatus


class NotificationSchema(Schema):
    id = fields.UUID()
    channel = fields.Enum(Channel, by_value=True)
    recipient = fields.String()
    template = fields.String()
    payload = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    status = fields.Enum(NotificationStatus, by_value=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(metadata={"description": "when a pending message is tried (again)"})
    last_error = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    customer_id = fields.UUID(allow_none=True)
    service_point_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class NotificationFilterSchema(Schema):
    status = fields.Enum(NotificationStatus, by_value=True)
    channel = fields.Enum(Channel, by_value=True)
    template = fields.String()
    job_id = fields.UUID()
    service_point_id = fields.UUID()
