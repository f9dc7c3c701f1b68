"""Parts on a job (expected, reserved, used), its bill, and the labour rate table."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from dispatch.api.schemas.claims import ClaimSchema
from dispatch.api.schemas.common import NOT_BLANK, Quantity
from dispatch.api.schemas.stock import MONEY, PRICE, LocationBriefSchema, PartBriefSchema, PartRefSchema
from dispatch.jobs.enums import JobStatus
from dispatch.network.enums import JobType
from dispatch.stock.billing import PriceOverride
from dispatch.stock.enums import BILLING_CURRENCY, ReservationStatus
from dispatch.stock.job_parts import MAX_LINE_QUANTITY, ConsumptionLine, ExpectedLine


class ShortageSourceSchema(Schema):
    location_id = fields.UUID()
    code = fields.String()
    kind = fields.String()
    available = fields.Integer()


class ExpectedPartSchema(Schema):
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer()
    shortage = fields.Integer(metadata={"description": "how many could not be reserved (0: all reserved)"})
    shortage_sources = fields.List(fields.Nested(ShortageSourceSchema),
                                   metadata={"description": "where the part is available (HQ, the point, its vans)"})
    checked_at = fields.DateTime(allow_none=True, metadata={"description": "last reservation attempt"})


class ReservationSchema(Schema):
    id = fields.UUID()
    part = fields.Nested(PartBriefSchema)
    location = fields.Nested(LocationBriefSchema)
    quantity = fields.Integer()
    consumed = fields.Integer()
    released = fields.Integer()
    open_quantity = fields.Integer(metadata={"description": "still held for the job"})
    status = fields.Enum(ReservationStatus, by_value=True)
    created_at = fields.DateTime()


class UsageSchema(Schema):
    id = fields.UUID()
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer()
    location = fields.Nested(LocationBriefSchema)
    list_price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()
    from_reservation = fields.Integer(metadata={"description": "how many came out of the job's reservation"})
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime()
    recorded_at = fields.DateTime(allow_none=True)


class JobPartsSchema(Schema):
    job_id = fields.UUID(attribute="job.id")
    job_reference = fields.String(attribute="job.reference")
    job_status = fields.Enum(JobStatus, by_value=True, attribute="job.status")
    expected = fields.List(fields.Nested(ExpectedPartSchema))
    shortages = fields.List(fields.Nested(ExpectedPartSchema),
                            metadata={"description": "expected parts that could not be fully reserved: a warning, "
                                                     "scheduling is not blocked"})
    reservations = fields.List(fields.Nested(ReservationSchema))
    usages = fields.List(fields.Nested(UsageSchema))
    claims = fields.List(fields.Nested(ClaimSchema))


class ExpectedLineSchema(PartRefSchema):
    quantity = Quantity(required=True, maximum=MAX_LINE_QUANTITY)

    @post_load
    def _line(self, data, **kwargs) -> ExpectedLine:
        return ExpectedLine(**data)


class ExpectedPartsUpdateSchema(Schema):
    parts = fields.List(fields.Nested(ExpectedLineSchema), required=True, validate=validate.Length(max=50),
                        metadata={"description": "replaces the list; [] clears it"})


class ConsumptionLineSchema(Schema):
    id = fields.UUID(load_default=None, metadata={"description": "client id: a replayed line is recorded once"})
    part_sku = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    part_id = fields.UUID(load_default=None)
    quantity = Quantity(required=True, maximum=MAX_LINE_QUANTITY)
    from_location = fields.String(data_key="from", load_default=None, validate=validate.Length(min=1, max=64),
                                  metadata={"description": "the technician's van or the job's point (id or code); "
                                                           "default: where the part was reserved, else the van"})
    recorded_at = fields.AwareDateTime(load_default=None, metadata={"description": "the device's clock"})

    @validates_schema
    def _one_part(self, data, **kwargs):
        if (data.get("part_sku") is None) == (data.get("part_id") is None):
            raise ValidationError("give exactly one of part_sku or part_id", field_name="part_sku")

    @post_load
    def _line(self, data, **kwargs) -> ConsumptionLine:
        return ConsumptionLine(**data)


class ConsumptionSchema(Schema):
    """Either one line (``{"part_sku", "quantity", "from"?}``) or ``{"lines": [...]}``."""

    override_reason = fields.String(
        load_default=None, validate=[validate.Length(min=1, max=2000), NOT_BLANK],
        metadata={"description": "the point's manager fits a part the catalogue says does not fit the job's "
                                 "product; the reason goes to the audit log"})
    lines = fields.List(fields.Nested(ConsumptionLineSchema), validate=validate.Length(min=1, max=50))
    id = fields.UUID(load_default=None)
    part_sku = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    part_id = fields.UUID(load_default=None)
    quantity = Quantity(maximum=MAX_LINE_QUANTITY)
    from_location = fields.String(data_key="from", load_default=None, validate=validate.Length(min=1, max=64))
    recorded_at = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _one_form(self, data, **kwargs):
        single = data.get("part_sku") is not None or data.get("part_id") is not None
        if "lines" in data:
            if single or "quantity" in data:
                raise ValidationError("give either lines or one part, not both", field_name="lines")
            return
        if data.get("part_sku") is not None and data.get("part_id") is not None:
            raise ValidationError("give exactly one of part_sku or part_id", field_name="part_sku")
        if not single:
            raise ValidationError("name a part (part_sku or part_id) or give lines", field_name="part_sku")
        if "quantity" not in data:
            raise ValidationError("Missing data for required field.", field_name="quantity")

    @post_load
    def _lines(self, data, **kwargs) -> dict:
        override_reason = data.pop("override_reason")
        lines = data["lines"] if "lines" in data else [ConsumptionLine(**data)]
        return {"lines": lines, "override_reason": override_reason}


class BillLineSchema(Schema):
    kind = fields.String(metadata={"description": "labour or part"})
    part_id = fields.UUID(allow_none=True)
    sku = fields.String(allow_none=True)
    description = fields.String()
    quantity = fields.Integer()
    list_unit_price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    unit_price = fields.Decimal(places=2, as_string=True,
                                metadata={"description": "after a manager's reduction; never above list"})
    covered = fields.Boolean(metadata={"description": "the warranty pays: the customer is charged 0"})
    amount = fields.Decimal(places=2, as_string=True, metadata=MONEY)


class PriceOverrideSchema(Schema):
    part_id = fields.UUID(allow_none=True)
    unit_price = fields.Decimal(places=2, as_string=True)
    reason = fields.String()
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime()


class BillSchema(Schema):
    job_id = fields.UUID(attribute="job.id")
    job_reference = fields.String(attribute="job.reference")
    job_type = fields.Enum(JobType, by_value=True, attribute="job.type")
    currency = fields.String(attribute="bill.currency")
    labour_covered = fields.Boolean(attribute="bill.labour_covered")
    parts_covered = fields.Boolean(attribute="bill.parts_covered")
    lines = fields.List(fields.Nested(BillLineSchema), attribute="bill.lines")
    total = fields.Decimal(places=2, as_string=True, attribute="bill.total", metadata=MONEY)
    overrides = fields.List(fields.Nested(PriceOverrideSchema))


class PriceOverrideLineSchema(Schema):
    part_sku = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the part line (no part: the labour line)"})
    part_id = fields.UUID(load_default=None)
    unit_price = fields.Decimal(required=True, places=2, validate=PRICE, metadata=MONEY)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _at_most_one_part(self, data, **kwargs):
        if data.get("part_sku") is not None and data.get("part_id") is not None:
            raise ValidationError("give at most one of part_sku or part_id", field_name="part_sku")

    @post_load
    def _override(self, data, **kwargs) -> PriceOverride:
        return PriceOverride(**data)


class PriceOverridesSchema(Schema):
    overrides = fields.List(fields.Nested(PriceOverrideLineSchema), required=True,
                            validate=validate.Length(max=50),
                            metadata={"description": "replaces the reductions; [] bills at list price"})


class LabourRateSchema(Schema):
    job_type = fields.Enum(JobType, by_value=True)
    amount = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()
    updated_at = fields.DateTime(allow_none=True)


class LabourRateUpdateSchema(Schema):
    amount = fields.Decimal(required=True, places=2, validate=PRICE, metadata=MONEY)
    currency = fields.String(load_default=BILLING_CURRENCY, validate=validate.Regexp(r"^[A-Z]{3}$"))

