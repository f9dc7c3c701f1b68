"""Ratings (public, by signed link), the rating link for the point, callbacks and the callback worklist."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.notifications import NotificationSchema
from dispatch.care.enums import CallbackItemStatus, CallbackOutcome, RatingSource


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


class RatingLinkSchema(Schema):
    job_id = fields.UUID()
    job_reference = fields.String()
    url = fields.String(allow_none=True, metadata={"description": "the customer's rating page for this visit "
                                                                  "(signed, no account); null until it is completed"})
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "this freshly signed link works until then"})
    rated = fields.Boolean(metadata={"description": "the customer has rated the visit"})
    messages = fields.List(fields.Nested(NotificationSchema),
                           metadata={"description": "the texts that carried the link, newest first"})


class CallbackItemSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    job_reference = fields.String(attribute="job.reference")
    service_point_id = fields.UUID(allow_none=True)
    reason = fields.String(metadata={"description": "low_rating: the customer rated the visit 2 or less"})
    score = fields.Integer(allow_none=True)
    comment = fields.String(metadata={"description": "what the customer wrote with the rating"})
    status = fields.Enum(CallbackItemStatus, by_value=True)
    opened_at = fields.DateTime()
    due_at = fields.DateTime(metadata={"description": "call the customer back by then"})
    attempts = fields.Integer(metadata={"description": "calls made about it so far"})
    closed_at = fields.DateTime(allow_none=True)
    callback_id = fields.UUID(allow_none=True, metadata={"description": "the call that reached the customer"})


class CallbackItemFilterSchema(Schema):
    status = fields.Enum(CallbackItemStatus, by_value=True)
    overdue = fields.Boolean(metadata={"description": "open items past their due time (true) or not (false)"})
    service_point_id = fields.UUID(metadata={"description": "HQ: one point's worklist"})
