"""Warranty claims from points to HQ."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.stock import MONEY, PartBriefSchema
from dispatch.stock.enums import ClaimRejection, ClaimStatus


class ClaimSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    usage_id = fields.UUID(metadata={"description": "the part usage the claim is for"})
    service_point_id = fields.UUID()
    unit_id = fields.UUID(allow_none=True)
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer()
    unit_price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    amount = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()
    job_date = fields.DateTime(metadata={"description": "the warranty is judged on this date (the job's report)"})
    status = fields.Enum(ClaimStatus, by_value=True)
    rejection_code = fields.Enum(ClaimRejection, by_value=True, allow_none=True)
    rejection_detail = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.UUID(allow_none=True, metadata={"description": "null for an automatic rejection"})
    created_at = fields.DateTime()
    version = fields.Integer()


class ClaimFilterSchema(Schema):
    status = fields.Enum(ClaimStatus, by_value=True)
    rejection_code = fields.Enum(ClaimRejection, by_value=True)
    service_point_id = fields.UUID()
    job_id = fields.UUID()


class ClaimDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "required to reject"})
    expected_version = fields.Integer(load_default=None)
