from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.customers import CustomerCreateSchema, CustomerSchema
from dispatch.api.schemas.common import EnumValue
from dispatch.network.enums import ProductCategory
from dispatch.network.rules import WarrantyStatus
from dispatch.network.units import SERIAL_FORMAT, SalesChannel

SERIAL = validate.Regexp(SERIAL_FORMAT, error="2-4 upper-case letters/digits, 4-digit year, 7-digit sequence "
                                               "(e.g. RO20250000002)")
SERIAL_DOC = {"description": "the QR payload: family prefix, year of manufacture, sequence", "example": "RO20250000002"}


class UnitProductSchema(Schema):
    id = fields.UUID()
    sku = fields.String()
    name = fields.String()
    category = fields.Enum(ProductCategory, by_value=True)
    warranty_months = fields.Integer()


class UnitWarrantyCoverageSchema(Schema):
    status = EnumValue(WarrantyStatus)
    labour = fields.Boolean(metadata={"description": "labour is free of charge"})
    parts = fields.Boolean(metadata={"description": "parts are free of charge"})
    category = fields.Enum(ProductCategory, by_value=True)


class UnitWarrantySummarySchema(Schema):
    in_warranty = fields.Function(lambda w: w.status == "in_warranty", metadata={"returns": fields.Boolean()})
    warranty_until = fields.Date(attribute="until", allow_none=True)
    status = fields.String()


class UnitActivationSchema(Schema):
    id = fields.UUID()
    customer_id = fields.UUID()
    purchased_on = fields.Date()
    sales_channel = fields.String()
    activated_at = fields.DateTime()
    actor_id = fields.UUID(allow_none=True)
    reason = fields.String()
    superseded_at = fields.DateTime(allow_none=True, metadata={"description": "set when HQ re-bound the unit"})


class UnitSchema(Schema):
    id = fields.UUID(dump_only=True)
    serial = fields.String(metadata=SERIAL_DOC)
    product = fields.Nested(UnitProductSchema)
    manufactured_on = fields.Date()
    activated = fields.Boolean()
    customer = fields.Nested(CustomerSchema, allow_none=True,
                             metadata={"description": "the owner; personal data masked unless it is the caller's"})
    purchased_on = fields.Date(allow_none=True)
    sales_channel = fields.String(allow_none=True)
    activated_at = fields.DateTime(allow_none=True)
    warranty = fields.Nested(UnitWarrantySummarySchema, metadata={"description": "as of today"})
    activations = fields.List(fields.Nested(UnitActivationSchema),
                              metadata={"description": "every warranty card, the superseded ones included"})
    created_at = fields.DateTime(dump_only=True)


class UnitCreateSchema(Schema):
    serial = fields.String(required=True, validate=SERIAL, metadata=SERIAL_DOC)
    product_id = fields.UUID(required=True)
    manufactured_on = fields.Date(required=True, metadata={"description": "its year must match the serial's"})


class UnitUpdateSchema(Schema):
    product_id = fields.UUID()
    manufactured_on = fields.Date()


class UnitFilterSchema(Schema):
    product_id = fields.UUID()
    customer_id = fields.UUID()
    activated = fields.Boolean()
    manufactured_year = fields.Integer(validate=validate.Range(min=1900, max=2100))


class UnitBuyerSchema(CustomerCreateSchema):
    """A customer registered at activation (found by phone when known); the point is the caller's."""

    class Meta:
        exclude = ("service_point_id", "grade")


class UnitActivationCreateSchema(Schema):
    customer_id = fields.UUID(load_default=None, metadata={"description": "an existing customer, or give `customer`"})
    customer = fields.Nested(UnitBuyerSchema, load_default=None,
                             metadata={"description": "register the buyer (found by phone if known)"})
    purchased_on = fields.Date(required=True, metadata={"description": "the warranty starts on this day"})
    sales_channel = fields.Enum(SalesChannel, by_value=True, required=True)


class UnitRebindSchema(Schema):
    customer_id = fields.UUID(load_default=None)
    customer = fields.Nested(UnitBuyerSchema, load_default=None)
    purchased_on = fields.Date(load_default=None, metadata={"description": "default: the current card's"})
    sales_channel = fields.Enum(SalesChannel, by_value=True, load_default=None,
                                metadata={"description": "default: the current card's"})
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class UnitWarrantyQuerySchema(Schema):
    on = fields.Date(load_default=None, metadata={"description": "default: today (local)"})


class UnitWarrantySchema(Schema):
    serial = fields.String()
    on = fields.Date()
    in_warranty = fields.Boolean()
    warranty_until = fields.Date(allow_none=True, metadata={"description": "last day of warranty"})
    purchased_on = fields.Date(allow_none=True)
    coverage = fields.Nested(UnitWarrantyCoverageSchema)
