"""The spare parts catalogue."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.stock import MONEY, PRICE
from dispatch.stock.enums import BILLING_CURRENCY

PART_SKU = validate.Regexp(r"^[A-Z0-9][A-Z0-9._-]{1,63}$", error="upper-case letters, digits, dots, dashes")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as CNY")


class PartSchema(Schema):
    id = fields.UUID(dump_only=True)
    sku = fields.String()
    name = fields.String()
    description = fields.String()
    list_price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()
    is_consumable = fields.Boolean(metadata={"description": "a wear item such as a filter cartridge"})
    warranty_covered = fields.Boolean(metadata={"description": "free to an in-warranty customer (and claimable)"})
    active = fields.Boolean(metadata={"description": "false: no longer received or planned"})
    compatible_products = fields.List(fields.String(), metadata={"description": "SKUs of the models it fits"})
    compatible_product_ids = fields.List(fields.UUID())
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PartCreateSchema(Schema):
    sku = fields.String(required=True, validate=PART_SKU)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    list_price = fields.Decimal(required=True, places=2, validate=PRICE, metadata=MONEY)
    currency = fields.String(load_default=BILLING_CURRENCY, validate=CURRENCY)
    is_consumable = fields.Boolean(load_default=False)
    warranty_covered = fields.Boolean(load_default=True)
    compatible_products = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                                      validate=validate.Length(max=100),
                                      metadata={"description": "product SKUs the part fits"})


class PartUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=4000))
    list_price = fields.Decimal(places=2, validate=PRICE, metadata=MONEY)
    currency = fields.String(validate=CURRENCY)
    is_consumable = fields.Boolean()
    warranty_covered = fields.Boolean()
    active = fields.Boolean()
    compatible_products = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                      validate=validate.Length(max=100),
                                      metadata={"description": "replaces the list of models it fits"})


class PartFilterSchema(Schema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "SKU or name fragment"})
    product_sku = fields.String(validate=validate.Length(max=64), metadata={"description": "parts fitting it"})
    is_consumable = fields.Boolean()
    active = fields.Boolean()
