"""Fault causes, traceable serials and the warranty reports."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from dispatch.network.enums import ProductCategory
from dispatch.warranty.enums import FaultKind, JourneyFlag, JourneyKind, PartnerKind

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="letters, digits, '.', '_' or '-', 1-64 long")


class FaultCauseSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    category = fields.Enum(ProductCategory, by_value=True)
    component = fields.String()
    symptom = fields.String()
    cause = fields.String()
    kind = fields.Enum(FaultKind, by_value=True, metadata={
        "description": "defect: the warranty pays; misuse: misuse or an outside cause, the customer pays"})
    active = fields.Boolean()
    version = fields.Integer()


class FaultCauseCreateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    component = fields.String(required=True, validate=validate.Length(min=1, max=120))
    symptom = fields.String(required=True, validate=validate.Length(min=1, max=200))
    cause = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(FaultKind, by_value=True, required=True)


class FaultCauseUpdateSchema(Schema):
    component = fields.String(validate=validate.Length(min=1, max=120))
    symptom = fields.String(validate=validate.Length(min=1, max=200))
    cause = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.Enum(FaultKind, by_value=True)
    active = fields.Boolean()


class FaultCauseFilterSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True)
    kind = fields.Enum(FaultKind, by_value=True)
    active = fields.Boolean()


class JobFaultCauseSchema(Schema):
    job_id = fields.UUID()
    fault_cause = fields.Nested(FaultCauseSchema, allow_none=True, metadata={"description": "null until recorded"})
    note = fields.String()
    actor_id = fields.UUID(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    at = fields.DateTime(allow_none=True)


class JobFaultCauseInputSchema(Schema):
    fault_cause_code = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "the catalogue code (or give fault_cause_id)"})
    fault_cause_id = fields.UUID()
    note = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _one(self, data, **_kwargs):
        if ("fault_cause_code" in data) == ("fault_cause_id" in data):
            raise ValidationError("give fault_cause_code or fault_cause_id", field_name="fault_cause_code")


# --- traceable serials ----------------------------------------------------------------------------


class PartnerSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = fields.Enum(PartnerKind, by_value=True)
    agent_id = fields.UUID(allow_none=True)
    region_code = fields.String()
    version = fields.Integer()


class PartnerCreateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(PartnerKind, by_value=True, required=True)
    agent_code = fields.String(validate=CODE, metadata={"description": "a dealer's agent"})
    region_code = fields.String(load_default="", validate=validate.Length(max=32))


class PartnerFilterSchema(Schema):
    kind = fields.Enum(PartnerKind, by_value=True)


class JourneyEventInputSchema(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=32))
    kind = fields.Enum(JourneyKind, by_value=True, required=True)
    partner_code = fields.String(validate=CODE, metadata={"description": "the agent or dealer (none for factory_out)"})
    on = fields.Date(required=True)
    reference = fields.String(load_default="", validate=validate.Length(max=120))


class JourneyLoadSchema(Schema):
    events = fields.List(fields.Nested(JourneyEventInputSchema), required=True,
                         validate=validate.Length(min=1, max=5000))


class JourneyEventSchema(Schema):
    id = fields.UUID()
    serial = fields.String(attribute="unit.serial")
    kind = fields.Enum(JourneyKind, by_value=True)
    partner = fields.Nested(PartnerSchema, allow_none=True)
    on = fields.Date()
    flag = fields.Enum(JourneyFlag, by_value=True, allow_none=True)
    flag_detail = fields.String()
    reference = fields.String()
    at = fields.DateTime()


class JourneyLoadResultSchema(Schema):
    loaded = fields.Integer(metadata={"description": "events added"})
    already_known = fields.Integer(metadata={"description": "events sent before (ignored: the load is idempotent)"})
    flagged = fields.List(fields.Nested(JourneyEventSchema))


class FlagFilterSchema(Schema):
    dealer_code = fields.String(validate=CODE)


class UnitJourneySchema(Schema):
    serial = fields.String()
    events = fields.List(fields.Nested(JourneyEventSchema))


class ClaimBriefSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    part_sku = fields.String(attribute="part.sku")
    quantity = fields.Integer()
    amount = fields.Decimal(places=2, as_string=True)
    status = fields.String()
    rejection_code = fields.String(allow_none=True)
    job_date = fields.DateTime()


class ShippedSerialSchema(Schema):
    serial = fields.String()
    shipped_on = fields.Date()
    registry_activated = fields.Boolean(metadata={"description": "a warranty card exists although no dealer "
                                                                "reported the sale"})
    claims = fields.List(fields.Nested(ClaimBriefSchema))


class DealerUnactivatedSchema(Schema):
    dealer = fields.Nested(PartnerSchema)
    serials = fields.List(fields.Nested(ShippedSerialSchema))
    claims_total = fields.Integer(metadata={"description": "free-part claims made for these serials"})


# --- reports --------------------------------------------------------------------------------------


class ReportRangeSchema(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))

    @validates_schema
    def _order(self, data, **_kwargs):
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("must not be after 'to'", field_name="from")
        if "from_" in data and "to" in data and (data["to"] - data["from_"]).days > 366:
            raise ValidationError("at most 366 days", field_name="to")


class CauseCountSchema(Schema):
    code = fields.String()
    component = fields.String()
    cause = fields.String()
    kind = fields.String()
    repairs = fields.Integer()


class CauseGroupSchema(Schema):
    key = fields.String(metadata={"description": "the model's SKU or the point's code"})
    name = fields.String()
    repairs = fields.Integer()
    misuse = fields.Integer(metadata={"description": "repairs whose cause was misuse or an outside cause"})
    top = fields.List(fields.Nested(CauseCountSchema))


class ClaimOutcomeSchema(Schema):
    key = fields.String()
    claims = fields.Integer()
    submitted = fields.Integer()
    held = fields.Integer()
    approved = fields.Integer()
    rejected = fields.Integer()
    rejected_amount = fields.Decimal(places=2, as_string=True)
    rejections = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "rejected claims by reason (misuse, not_activated, ...)"})


class WarrantyKpisSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    service_point_id = fields.UUID(allow_none=True)
    by_model = fields.List(fields.Nested(CauseGroupSchema))
    by_point = fields.List(fields.Nested(CauseGroupSchema))
    claims = fields.Nested(ClaimOutcomeSchema)
    claims_by_point = fields.List(fields.Nested(ClaimOutcomeSchema))
