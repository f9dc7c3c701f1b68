"""Repair, replace or refund (三包): periods, requests, suggestions, and whole units coming back."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from dispatch.api.schemas.warranty import FaultCauseSchema
from dispatch.network.enums import ProductCategory
from dispatch.stock.enums import UnitReturnStatus
from dispatch.warranty.enums import RemedyKind, RemedyStatus


class StatutoryPeriodsSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True)
    refund_days = fields.Integer(metadata={"description": "days from the purchase within which a defect may be "
                                                          "refunded (or the unit replaced)"})
    replace_days = fields.Integer(metadata={"description": "days from the purchase within which a defective unit "
                                                           "may be replaced; after that it is repaired"})
    updated_at = fields.DateTime(allow_none=True)
    version = fields.Integer()


class StatutoryPeriodsInputSchema(Schema):
    refund_days = fields.Integer(required=True, validate=validate.Range(min=0, max=366))
    replace_days = fields.Integer(required=True, validate=validate.Range(min=0, max=366))

    @validates_schema
    def _order(self, data, **_kwargs):
        if data.get("replace_days", 0) < data.get("refund_days", 0):
            raise ValidationError("cannot be shorter than refund_days", field_name="replace_days")


class RemedyRequestInputSchema(Schema):
    job_id = fields.UUID(required=True, metadata={"description": "the repair of the unit"})
    kind = fields.Enum(RemedyKind, by_value=True, required=True)
    fault_cause_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    evidence = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=10),
                           metadata={"description": "photos of the fault (attachments uploaded at the job's point)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RemedyRequestSchema(Schema):
    id = fields.UUID()
    serial = fields.String(attribute="unit.serial")
    job_id = fields.UUID()
    customer_id = fields.UUID()
    service_point_id = fields.UUID(allow_none=True)
    kind = fields.Enum(RemedyKind, by_value=True)
    status = fields.Enum(RemedyStatus, by_value=True)
    fault_cause = fields.Nested(FaultCauseSchema)
    evidence = fields.List(fields.UUID())
    note = fields.String()
    days_since_purchase = fields.Integer()
    grounds = fields.String(metadata={"description": "refund_period, replace_period or repeat_fault (the same "
                                                     "defect repaired twice)"})
    requested_by = fields.UUID(allow_none=True)
    requested_at = fields.DateTime()
    decided_by = fields.UUID(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String()
    replacement_serial = fields.Function(
        lambda r: r.replacement_unit.serial if r.replacement_unit is not None else None,
        metadata={"returns": fields.String(allow_none=True), "description": "the new unit (an approved replacement)"})
    unit_return_id = fields.UUID(allow_none=True)
    version = fields.Integer()


class RemedyFilterSchema(Schema):
    status = fields.Enum(RemedyStatus, by_value=True)


class RemedyDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    replacement_serial = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "the new unit (same model, never sold) that replaces the old one"})


class ReplacementSuggestionSchema(Schema):
    id = fields.UUID()
    serial = fields.String(attribute="unit.serial")
    fault_cause = fields.Nested(FaultCauseSchema)
    first_job_id = fields.UUID()
    second_job_id = fields.UUID()
    service_point_id = fields.UUID(allow_none=True)
    at = fields.DateTime()


class UnitReturnSchema(Schema):
    id = fields.UUID()
    serial = fields.String(attribute="unit.serial")
    service_point_id = fields.UUID(allow_none=True)
    reason = fields.String()
    reference = fields.String()
    status = fields.Enum(UnitReturnStatus, by_value=True)
    created_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    received_by = fields.UUID(allow_none=True)
    note = fields.String()


class UnitReturnFilterSchema(Schema):
    status = fields.Enum(UnitReturnStatus, by_value=True)


class UnitReceiptSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))
