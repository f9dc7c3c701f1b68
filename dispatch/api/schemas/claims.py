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
    checks = fields.List(fields.Dict(), attribute="all_checks", metadata={
        "description": "every check with `check`, `passed` (true, false, or null when not reached) and `detail`: "
                       "unit_named, activated, in_warranty, part_fits, not_a_repeat (failed: held for review), "
                       "fault_is_a_defect (once the repair's cause is known), old_part_returned (approval needs it)"})
    return_received_at = fields.DateTime(allow_none=True)
    return_waived_at = fields.DateTime(allow_none=True)
    return_waiver_reason = fields.String()
    return_waiver_attachment_id = fields.UUID(allow_none=True)
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


class ClaimReturnSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ClaimWaiverSchema(Schema):
    attachment_id = fields.UUID(required=True, metadata={"description": "the photo of the old part"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ClaimPolicySchema(Schema):
    repeat_window_days = fields.Integer(required=True, validate=validate.Range(min=0, max=3650), metadata={
        "description": "a claim for the same unit and part within this many days of an earlier one is held"})
    updated_at = fields.DateTime(dump_only=True, allow_none=True)
