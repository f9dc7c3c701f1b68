"""Stock: locations, levels, the movement ledger, transfers, adjustments, replenishment."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from dispatch.api.schemas.common import Quantity
from dispatch.stock.enums import LocationKind, MovementKind, TransferStatus
from dispatch.stock.movements import PartRef

MAX_QUANTITY = 10_000
MAX_PRICE = 99_999_999.99
LOCATION_REF = {"description": "a stock location's id or code (HQ, a point code such as HZ01, VAN-<username>)"}
MONEY = {"description": "decimal string, 2 places", "minimum": 0, "maximum": MAX_PRICE}


def PRICE(value) -> None:  # noqa: N802 - used like marshmallow's validators
    """0 .. MAX_PRICE. A plain function: apispec would print a Range on a Decimal as strings."""
    if not 0 <= value <= MAX_PRICE:
        raise ValidationError(f"must be between 0 and {MAX_PRICE}")


class LocationBriefSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    kind = fields.Enum(LocationKind, by_value=True)


class StockLocationSchema(LocationBriefSchema):
    name = fields.String()
    service_point_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True, metadata={"description": "set for a van"})


class LocationFilterSchema(Schema):
    kind = fields.Enum(LocationKind, by_value=True)


class PartBriefSchema(Schema):
    id = fields.UUID()
    sku = fields.String()
    name = fields.String()


class PartRefSchema(Schema):
    """A part named by SKU or id (exactly one)."""

    part_sku = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    part_id = fields.UUID(load_default=None)

    @validates_schema
    def _one_part(self, data, **kwargs):
        if (data.get("part_sku") is None) == (data.get("part_id") is None):
            raise ValidationError("give exactly one of part_sku or part_id", field_name="part_sku")


class PartLineSchema(PartRefSchema):
    quantity = Quantity(required=True, maximum=MAX_QUANTITY)

    @post_load
    def _line(self, data, **kwargs) -> PartRef:
        return PartRef(**data)


class LevelSchema(Schema):
    location = fields.Nested(LocationBriefSchema)
    part = fields.Nested(PartBriefSchema)
    on_hand = fields.Integer()
    reserved = fields.Integer(metadata={"description": "set aside for jobs"})
    available = fields.Integer(metadata={"description": "on_hand - reserved"})
    in_transit = fields.Integer(metadata={"description": "dispatched to this location, not yet received"})
    defective = fields.Integer(metadata={"description": "defective units held for the supplier (HQ)"})
    min_level = fields.Integer(allow_none=True)
    max_level = fields.Integer(allow_none=True)
    low_stock = fields.Boolean(metadata={"description": "available + in transit is at or below min_level"})
    version = fields.Integer(metadata={"description": "grows with every change; give it to an adjustment"})
    updated_at = fields.DateTime(allow_none=True)


class LevelFilterSchema(Schema):
    location = fields.String(metadata=LOCATION_REF)
    part_sku = fields.String(validate=validate.Length(max=64))
    low_only = fields.Boolean(load_default=False, metadata={"description": "only levels at or below min"})
    include_vans = fields.Boolean(load_default=True,
                                  metadata={"description": "a point's view lists its vans too"})


class MovementSchema(Schema):
    id = fields.UUID()
    operation_id = fields.UUID(metadata={"description": "rows of one movement share it (a transfer has two)"})
    kind = fields.Enum(MovementKind, by_value=True)
    location = fields.Nested(LocationBriefSchema)
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer()
    delta_on_hand = fields.Integer()
    delta_reserved = fields.Integer()
    delta_in_transit = fields.Integer()
    delta_defective = fields.Integer()
    counterpart_location_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    transfer_id = fields.UUID(allow_none=True)
    reservation_id = fields.UUID(allow_none=True)
    reason = fields.String()
    reference = fields.String()
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime()


class MovementFilterSchema(Schema):
    location = fields.String(metadata=LOCATION_REF)
    part_sku = fields.String(validate=validate.Length(max=64))
    kind = fields.Enum(MovementKind, by_value=True)
    job_id = fields.UUID()
    transfer_id = fields.UUID()


class DeliverySchema(Schema):
    lines = fields.List(fields.Nested(PartLineSchema), required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(load_default="", validate=validate.Length(max=120),
                              metadata={"description": "the supplier's delivery note"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class StockTransferLineSchema(Schema):
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer()


class StockTransferSchema(Schema):
    id = fields.UUID()
    from_location = fields.Nested(LocationBriefSchema)
    to_location = fields.Nested(LocationBriefSchema)
    status = fields.Enum(TransferStatus, by_value=True)
    note = fields.String()
    lines = fields.List(fields.Nested(StockTransferLineSchema))
    dispatched_at = fields.DateTime()
    dispatched_by = fields.UUID(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    received_by = fields.UUID(allow_none=True)


class StockTransferCreateSchema(Schema):
    from_location = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=LOCATION_REF)
    to_location = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=LOCATION_REF)
    lines = fields.List(fields.Nested(PartLineSchema), required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class StockTransferFilterSchema(Schema):
    status = fields.Enum(TransferStatus, by_value=True)
    location = fields.String(metadata={"description": "either end of the transfer (id or code)"})


class AdjustmentSchema(PartRefSchema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=LOCATION_REF)
    counted = Quantity(load_default=None, minimum=0, maximum=1_000_000,
                             metadata={"description": "what the stock take found (or give delta)"})
    delta = Quantity(load_default=None, minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY,
                           metadata={"description": "signed correction (or give counted)"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    expected_version = fields.Integer(load_default=None, metadata={
        "description": "the level's version when the count started: 412 if the stock moved since"})

    @validates_schema
    def _one_amount(self, data, **kwargs):
        if (data.get("counted") is None) == (data.get("delta") is None):
            raise ValidationError("give exactly one of counted or delta", field_name="counted")
        if data.get("delta") == 0:
            raise ValidationError("a correction of 0 changes nothing", field_name="delta")


class DefectiveReturnSchema(PartRefSchema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=LOCATION_REF)
    quantity = Quantity(required=True, maximum=MAX_QUANTITY)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           metadata={"description": "what is wrong with the part"})


class LimitsSchema(PartRefSchema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=LOCATION_REF)
    min_level = Quantity(required=True, allow_none=True, minimum=0, maximum=1_000_000,
                               metadata={"description": "a refill is suggested at or below it (null: none)"})
    max_level = Quantity(required=True, allow_none=True, minimum=0, maximum=1_000_000,
                               metadata={"description": "refills bring the location back to it"})

    @validates_schema
    def _order(self, data, **kwargs):
        low, high = data.get("min_level"), data.get("max_level")
        if low is not None and high is not None and high < low:
            raise ValidationError("must be at least min_level", field_name="max_level")


class SuggestionSchema(Schema):
    kind = fields.String(metadata={"description": "transfer, or purchase when HQ itself is short"})
    from_location = fields.Nested(LocationBriefSchema, attribute="source", allow_none=True)
    to_location = fields.Nested(LocationBriefSchema, attribute="destination")
    part = fields.Nested(PartBriefSchema)
    quantity = fields.Integer(metadata={"description": "what the source can send now"})
    need = fields.Integer(metadata={"description": "what brings the destination back to its maximum"})
    short_by = fields.Integer(metadata={"description": "need the source cannot cover"})
    position = fields.Integer(metadata={"description": "the destination's available + in transit now"})
    min_level = fields.Integer(allow_none=True)
    max_level = fields.Integer(allow_none=True)


class ReplenishmentFilterSchema(Schema):
    location = fields.String(metadata={"description": "moves into or out of this location (id or code)"})
    part_sku = fields.String(validate=validate.Length(max=64))
