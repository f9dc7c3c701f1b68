"""Ratings (public, by signed link) and the call centre's callbacks."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.care.models import CallbackOutcome, RatingSource


class FeedbackRequestSchema(Schema):
    job_reference = fields.String()
    job_type = fields.String()
    product = fields.String()
    technician = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    rated = fields.Boolean(metadata={"description": "the visit has been rated already"})


class RatingCreateSchema(Schema):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class RatingSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    job_reference = fields.String(attribute="job.reference")
    service_point_id = fields.UUID(attribute="job.service_point_id", allow_none=True)
    technician_id = fields.UUID(attribute="job.technician_id", allow_none=True)
    score = fields.Integer()
    comment = fields.String()
    source = fields.Enum(RatingSource, by_value=True)
    created_at = fields.DateTime()


class RatingReceiptSchema(Schema):
    """What the customer gets back: no internal ids beyond the rating's."""

    id = fields.UUID()
    score = fields.Integer()
    comment = fields.String()
    created_at = fields.DateTime()


class RatingFilterSchema(Schema):
    service_point_id = fields.UUID()
    technician_id = fields.UUID()
    max_score = fields.Integer(validate=validate.Range(min=1, max=5),
                               metadata={"description": "only ratings at or below this score"})


class CallbackCreateSchema(Schema):
    outcome = fields.Enum(CallbackOutcome, by_value=True, required=True)
    satisfied = fields.Boolean(load_default=None, allow_none=True,
                               metadata={"description": "was the problem solved? (reached customers only)"})
    score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "a score given on the phone becomes the job's rating "
                                                    "unless the customer rated through the link"})
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class CallbackSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    outcome = fields.Enum(CallbackOutcome, by_value=True)
    satisfied = fields.Boolean(allow_none=True)
    score = fields.Integer(allow_none=True)
    comment = fields.String()
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime()
