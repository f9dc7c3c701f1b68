"""Complaints and their per-category deadlines."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.care.enums import ComplaintCategory, ComplaintStatus


class ComplaintEventSchema(Schema):
    kind = fields.String()
    from_status = fields.Enum(ComplaintStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(ComplaintStatus, by_value=True, allow_none=True)
    note = fields.String()
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime()


class ComplaintSchema(Schema):
    id = fields.UUID()
    reference = fields.String()
    category = fields.Enum(ComplaintCategory, by_value=True)
    status = fields.Enum(ComplaintStatus, by_value=True)
    customer_id = fields.UUID()
    unit_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    service_point_id = fields.UUID(allow_none=True)
    summary = fields.String()
    description = fields.String()
    resolution = fields.String()
    received_at = fields.DateTime()
    due_at = fields.DateTime(metadata={"description": "resolve by then, or the complaint is escalated to HQ"})
    escalated_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    events = fields.List(fields.Nested(ComplaintEventSchema))


class ComplaintCreateSchema(Schema):
    category = fields.Enum(ComplaintCategory, by_value=True, required=True)
    customer_id = fields.UUID(required=True)
    unit_id = fields.UUID(load_default=None, allow_none=True)
    job_id = fields.UUID(load_default=None, allow_none=True)
    service_point_id = fields.UUID(load_default=None, allow_none=True,
                                   metadata={"description": "HQ only; taken from the job when one is linked"})
    summary = fields.String(required=True, validate=validate.Length(min=3, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    received_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "when the customer complained (default: now)"})


class ComplaintTransitionSchema(Schema):
    to_status = fields.Enum(ComplaintStatus, by_value=True, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=10000),
                         metadata={"description": "required for solution_proposed (the proposal) and resolved"})
    category = fields.Enum(ComplaintCategory, by_value=True, load_default=None, allow_none=True,
                           metadata={"description": "correct the category when classifying"})


class ComplaintFilterSchema(Schema):
    status = fields.Enum(ComplaintStatus, by_value=True)
    category = fields.Enum(ComplaintCategory, by_value=True)
    escalated = fields.Boolean()
    overdue = fields.Boolean(metadata={"description": "still open and past its deadline"})
    service_point_id = fields.UUID()
    customer_id = fields.UUID()
    job_id = fields.UUID()


class DeadlineSchema(Schema):
    category = fields.Enum(ComplaintCategory, by_value=True)
    resolve_within_hours = fields.Integer()
    updated_at = fields.DateTime(allow_none=True)


class DeadlineUpdateSchema(Schema):
    resolve_within_hours = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 90))
