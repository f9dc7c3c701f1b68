"""Service contracts: annual service packages (包年) and extended warranties sold per unit."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import Quantity
from dispatch.api.schemas.stock import MAX_PRICE, MONEY
from dispatch.warranty.enums import ContractKind, ContractStatus


class ContractPartInputSchema(Schema):
    part_sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = Quantity(maximum=100, required=True)


class ContractCreateSchema(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=32))
    kind = fields.Enum(ContractKind, by_value=True, required=True)
    price = fields.Decimal(required=True, places=2, as_string=True,
                           validate=validate.Range(min=0, max=MAX_PRICE), metadata=MONEY)
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=36), metadata={
        "description": "12 for an annual package; 12 to 36 for an extended warranty"})
    starts_on = fields.Date(metadata={"description": "an annual package's first day (default today); an extended "
                                                     "warranty starts the day after the factory warranty ends"})
    included_visits = fields.Integer(load_default=0, validate=validate.Range(min=0, max=12))
    parts = fields.List(fields.Nested(ContractPartInputSchema), load_default=list, validate=validate.Length(max=20))


class ContractPartSchema(Schema):
    part_id = fields.UUID()
    part_sku = fields.String(attribute="sku")
    quantity = fields.Integer()
    used = fields.Integer()


class ContractSchema(Schema):
    id = fields.UUID()
    reference = fields.String()
    serial = fields.String(attribute="unit.serial")
    customer_id = fields.UUID()
    service_point_id = fields.UUID(allow_none=True)
    kind = fields.Enum(ContractKind, by_value=True)
    status = fields.Enum(ContractStatus, by_value=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    included_visits = fields.Integer()
    visits_used = fields.Integer()
    parts = fields.List(fields.Nested(ContractPartSchema))
    sold_at = fields.DateTime()
    reminded_on = fields.Date(allow_none=True)
    cancelled_on = fields.Date(allow_none=True)
    cancel_reason = fields.String()
    refund = fields.Decimal(places=2, as_string=True, allow_none=True,
                            metadata=MONEY | {"description": "owed back on cancellation: the unused share of the price"})
    version = fields.Integer()


class ContractFilterSchema(Schema):
    serial = fields.String(validate=validate.Length(min=1, max=32))
    status = fields.Enum(ContractStatus, by_value=True)


class ReminderRequestSchema(Schema):
    days_ahead = fields.Integer(load_default=30, validate=validate.Range(min=1, max=90))


class ReminderQueuedSchema(Schema):
    task_id = fields.String()
    days_ahead = fields.Integer()


class ContractCancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
