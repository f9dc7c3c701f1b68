"""Machine clients and their OAuth 2.0 client-credentials tokens."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import NOT_BLANK
from dispatch.auth.enums import GrantType, Scope

SCOPE_LIST = {"description": "Scope values; each names the operations a client may call"}


class ApiClientCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), NOT_BLANK])
    scopes = fields.List(fields.Enum(Scope, by_value=True), required=True,
                         validate=validate.Length(min=1, max=len(Scope)))


class ApiClientUpdateSchema(Schema):
    name = fields.String(validate=[validate.Length(min=1, max=120), NOT_BLANK])
    scopes = fields.List(fields.Enum(Scope, by_value=True), validate=validate.Length(min=1, max=len(Scope)))


class ApiClientSchema(Schema):
    id = fields.UUID()
    client_id = fields.String(metadata={"description": "the public half of the credentials"})
    name = fields.String()
    scopes = fields.List(fields.String(), metadata=SCOPE_LIST)
    secret_hint = fields.String(metadata={"description": "the secret's last four characters"})
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class IssuedClientSchema(ApiClientSchema):
    client_secret = fields.String(metadata={"description": "shown once: only its hash is kept"})


class ClientTokenRequestSchema(Schema):
    grant_type = fields.Enum(GrantType, by_value=True, required=True)
    client_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    client_secret = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    scope = fields.String(load_default=None, validate=validate.Length(max=500),
                          metadata={"description": "space-separated scopes to narrow the token to"})


class ClientTokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    scope = fields.String()
