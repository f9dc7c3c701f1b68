"""Webhook endpoints, deliveries and their log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.integrations.enums import DeliveryStatus, EndpointStatus, EventType

EVENT_TYPES = fields.List(fields.Enum(EventType, by_value=True), validate=validate.Length(min=1, max=len(EventType)),
                          metadata={"description": "the event types this endpoint receives"})


class WebhookEndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000),
                        metadata={"description": "an https URL on the public internet (private and loopback "
                                                 "addresses are refused)"})
    event_types = fields.List(fields.Enum(EventType, by_value=True), required=True,
                              validate=validate.Length(min=1, max=len(EventType)))
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookEndpointUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(min=8, max=2000))
    event_types = fields.List(fields.Enum(EventType, by_value=True), validate=validate.Length(min=1, max=len(EventType)))
    description = fields.String(validate=validate.Length(max=200))
    status = fields.Enum(EndpointStatus, by_value=True, metadata={
        "description": "disabled stops deliveries (they wait); active resumes them at once"})


class WebhookEndpointSchema(Schema):
    id = fields.UUID()
    url = fields.String()
    description = fields.String()
    event_types = fields.List(fields.String(), metadata={"description": "EventType values"})
    status = fields.Enum(EndpointStatus, by_value=True)
    failing_since = fields.DateTime(allow_none=True, metadata={"description": "first failure since the last success"})
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookEndpointWithSecretSchema(WebhookEndpointSchema):
    secret = fields.String(metadata={"description": "whsec_<base64>: the HMAC key of webhook-signature (Standard "
                                                    "Webhooks); shown when the endpoint is created or rotated"})


class WebhookDeliveryFilterSchema(Schema):
    status = fields.Enum(DeliveryStatus, by_value=True)
    event_type = fields.Enum(EventType, by_value=True)


class WebhookAttemptSchema(Schema):
    number = fields.Integer()
    at = fields.DateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "none when no answer came"})
    error = fields.String(allow_none=True)
    response_body = fields.String(metadata={"description": "the first 1,000 characters of the answer"})
    duration_ms = fields.Integer()
    manual = fields.Boolean(metadata={"description": "sent because HQ asked for a redelivery"})


class WebhookDeliverySchema(Schema):
    id = fields.UUID()
    endpoint_id = fields.UUID()
    event_id = fields.String(metadata={"description": "the webhook-id header (same on every attempt)"})
    event_type = fields.String()
    ordering_key = fields.String(allow_none=True, metadata={
        "description": "events with the same key (job:<id>) reach an endpoint in order"})
    payload = fields.Dict(metadata={"description": "the body sent: type, timestamp, data"})
    status = fields.Enum(DeliveryStatus, by_value=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class WebhookDeliveryDetailSchema(WebhookDeliverySchema):
    log = fields.List(fields.Nested(WebhookAttemptSchema), metadata={"description": "every attempt, oldest first"})


class WebhookEventTypeSchema(Schema):
    type = fields.Enum(EventType, by_value=True)
    description = fields.String()


class WebhookPruningSchema(Schema):
    task_id = fields.String(metadata={"description": "the queued pruning task (its outcome is logged; "
                                                     "failed tasks are listed under /admin/tasks/failed)"})
