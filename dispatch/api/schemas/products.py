from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.network_fields import SearchFilterSchema
from dispatch.network.enums import ProductCategory

SKU = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{1,63}$", error="letters, digits and dashes")
MINUTES = validate.Range(min=1, max=24 * 60)


class StandardMinutesSchema(Schema):
    install = fields.Integer(validate=MINUTES)
    repair = fields.Integer(validate=MINUTES)
    maintenance = fields.Integer(validate=MINUTES)


class ProductSchema(Schema):
    id = fields.UUID(dump_only=True)
    sku = fields.String()
    name = fields.String()
    category = fields.Enum(ProductCategory, by_value=True)
    warranty_months = fields.Integer(metadata={"description": "from the purchase date"})
    maintenance_interval_days = fields.Integer(allow_none=True,
                                               metadata={"description": "e.g. the filter change interval"})
    standard_minutes = fields.Nested(StandardMinutesSchema,
                                     metadata={"description": "standard on-site minutes per job type"})
    updated_at = fields.DateTime(dump_only=True)


class ProductCreateSchema(Schema):
    sku = fields.String(required=True, validate=SKU, metadata={"description": "stored upper case"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    warranty_months = fields.Integer(required=True, validate=validate.Range(min=0, max=240))
    maintenance_interval_days = fields.Integer(load_default=None, allow_none=True,
                                               validate=validate.Range(min=1, max=3650))
    standard_minutes = fields.Nested(StandardMinutesSchema, load_default=dict)


class ProductUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    warranty_months = fields.Integer(validate=validate.Range(min=0, max=240))
    maintenance_interval_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3650))
    standard_minutes = fields.Nested(StandardMinutesSchema, metadata={"description": "merged into the current"})


class ProductFilterSchema(SearchFilterSchema):
    category = fields.Enum(ProductCategory, by_value=True)
    sku = fields.String(validate=validate.Length(max=64))
