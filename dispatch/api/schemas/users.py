from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.auth.enums import Role


class UserSchema(Schema):
    id = fields.UUID(dump_only=True)
    username = fields.String()
    full_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    service_point_id = fields.UUID(allow_none=True)
    is_active = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,119}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    full_name = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.Enum(Role, by_value=True, required=True)
    service_point_id = fields.UUID(load_default=None, allow_none=True)


class UserFilterSchema(Schema):
    role = fields.Enum(Role, by_value=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))


class PasswordSetSchema(Schema):
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))

