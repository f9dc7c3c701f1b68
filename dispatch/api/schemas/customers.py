from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from dispatch.api.schemas.common import LocationSchema
from dispatch.api.schemas.network_fields import Location, flatten_location
from dispatch.network.enums import CustomerGrade

PHONE = validate.Regexp(r"^\+?\d[\d -]{5,22}\d$", error="digits, optional leading +")


class CustomerSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String()
    phone = fields.String(metadata={"description": "masked (138****1234) unless admin or the customer's own point"})
    email = fields.String(allow_none=True)
    address = fields.String()
    location = Location(allow_none=True)
    grade = fields.Enum(CustomerGrade, by_value=True)
    service_point_id = fields.UUID(allow_none=True, metadata={"description": "the point that first served them"})
    masked = fields.Boolean(metadata={"description": "true when personal data is hidden from the caller"})
    created_at = fields.DateTime(dump_only=True)


class _Flatten:
    @post_load
    def flatten(self, data, **_):
        return flatten_location(data)


class CustomerCreateSchema(_Flatten, Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=PHONE)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    grade = fields.Enum(CustomerGrade, by_value=True, load_default=CustomerGrade.STANDARD)
    service_point_id = fields.UUID(load_default=None, allow_none=True,
                                   metadata={"description": "HQ only; a point registers customers for itself"})


class CustomerUpdateSchema(_Flatten, Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    phone = fields.String(validate=PHONE)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema, allow_none=True)
    grade = fields.Enum(CustomerGrade, by_value=True, metadata={"description": "HQ only (it sets SLA targets)"})
    service_point_id = fields.UUID(allow_none=True, metadata={"description": "HQ only"})


class CustomerFilterSchema(Schema):
    phone = fields.String(validate=PHONE, metadata={"description": "exact phone number"})
    grade = fields.Enum(CustomerGrade, by_value=True)
    service_point_id = fields.UUID()
    q = fields.String(validate=validate.Length(min=2, max=100),
                      metadata={"description": "name or address fragment (among customers the caller may see)"})
