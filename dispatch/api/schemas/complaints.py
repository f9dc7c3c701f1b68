"""Complaints and their per-category deadlines."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.stock import MONEY
from dispatch.care.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOwner,
    ComplaintStatus,
    CustomerAnswer,
    ResolutionType,
)


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
    channel = fields.Enum(ComplaintChannel, by_value=True)
    about_point = fields.Boolean(metadata={"description": "the complaint is about the service point itself"})
    owner = fields.Enum(ComplaintOwner, by_value=True, metadata={"description": "whose desk: the point's manager "
                                                                                 "or HQ"})
    owner_user_id = fields.UUID(allow_none=True, metadata={"description": "the point's manager who owns it"})
    resolution_type = fields.Enum(ResolutionType, by_value=True, allow_none=True)
    compensation_amount = fields.Decimal(places=2, as_string=True, allow_none=True, metadata=MONEY)
    compensation_offer = fields.Decimal(places=2, as_string=True, allow_none=True,
                                        metadata=MONEY | {"description": "HQ's rule for a visit late against "
                                                                         "its SLA"})
    minutes_late = fields.Integer(allow_none=True, metadata={"description": "the linked visit against its SLA"})
    customer_answer = fields.Enum(CustomerAnswer, by_value=True, allow_none=True)
    customer_answered_at = fields.DateTime(allow_none=True)
    satisfaction_asked_at = fields.DateTime(allow_none=True)
    satisfaction_score = fields.Integer(allow_none=True)
    satisfaction_comment = fields.String()
    satisfaction_at = fields.DateTime(allow_none=True)
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
    channel = fields.Enum(ComplaintChannel, by_value=True, load_default=ComplaintChannel.PHONE)
    about_point = fields.Boolean(load_default=False, metadata={
        "description": "about the service point itself (staff, conduct): HQ owns it, not the point"})


class ComplaintTransitionSchema(Schema):
    to_status = fields.Enum(ComplaintStatus, by_value=True, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=10000),
                         metadata={"description": "required for solution_proposed (the proposal) and resolved"})
    category = fields.Enum(ComplaintCategory, by_value=True, load_default=None, allow_none=True,
                           metadata={"description": "correct the category when classifying"})
    resolution_type = fields.Enum(ResolutionType, by_value=True, load_default=None, allow_none=True,
                                  metadata={"description": "required for solution_proposed"})
    amount = fields.Decimal(places=2, load_default=None, allow_none=True,
                            validate=validate.Range(min=0, min_inclusive=False, max=1_000_000), metadata=MONEY | {
                                "description": "partial_refund and compensation (default: HQ's late-visit offer)"})


class ProposalAnswerSchema(Schema):
    accepted = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class SatisfactionSchema(Schema):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class CompensationTierSchema(Schema):
    min_minutes_late = fields.Integer(required=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    amount = fields.Decimal(places=2, as_string=True, required=True,
                            validate=validate.Range(min=0, min_inclusive=False, max=100_000), metadata=MONEY)


class CompensationTiersSchema(Schema):
    tiers = fields.List(fields.Nested(CompensationTierSchema), required=True, validate=validate.Length(max=20))


class ComplaintFilterSchema(Schema):
    status = fields.Enum(ComplaintStatus, by_value=True)
    category = fields.Enum(ComplaintCategory, by_value=True)
    escalated = fields.Boolean()
    overdue = fields.Boolean(metadata={"description": "still open and past its deadline"})
    service_point_id = fields.UUID()
    customer_id = fields.UUID()
    job_id = fields.UUID()
    owner = fields.Enum(ComplaintOwner, by_value=True)
    channel = fields.Enum(ComplaintChannel, by_value=True)


class DeadlineSchema(Schema):
    category = fields.Enum(ComplaintCategory, by_value=True)
    resolve_within_hours = fields.Integer()
    updated_at = fields.DateTime(allow_none=True)


class DeadlineUpdateSchema(Schema):
    resolve_within_hours = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 90))
