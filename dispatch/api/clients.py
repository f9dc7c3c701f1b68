"""Machine clients (ERP and CRM integrations): HQ manages them; a client gets tokens with the
OAuth 2.0 client-credentials grant."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, token_config, unit_of_work
from dispatch.api.ratelimit import failed_login_budget, limit_auth
from dispatch.api.schemas.clients import (
    ApiClientCreateSchema,
    ApiClientSchema,
    ApiClientUpdateSchema,
    ClientTokenRequestSchema,
    ClientTokenSchema,
    IssuedClientSchema,
)
from dispatch.auth import clients
from dispatch.errors import Unauthorized, ValidationFailed

blp = Blueprint("clients", __name__, url_prefix="/api/v1", description="Machine clients and their tokens")

PUBLIC = {"clients.ClientToken"}


def _issued(issued: clients.Issued) -> dict:
    client = issued.client
    view = {name: getattr(client, name) for name in ("id", "client_id", "name", "scopes", "secret_hint",
                                                     "revoked_at", "last_used_at", "created_at")}
    return view | {"client_secret": issued.client_secret}


@blp.route("/clients")
class Clients(MethodView):
    @blp.response(200, ApiClientSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The machine clients (HQ)."""
        items, total = clients.list_clients(unit_of_work(), current_principal(),
                                            offset=pagination_parameters.first_item,
                                            limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(ApiClientCreateSchema)
    @blp.response(201, IssuedClientSchema)
    def post(self, body):
        """Create a client with its scopes (admin); the secret is in this answer only."""
        issued = clients.create_client(unit_of_work(), current_principal(), token_config(), **body)
        return _issued(issued), {"Location": url_for("clients.ClientById", client_uuid=issued.client.id)}


@blp.route("/clients/<uuid:client_uuid>")
class ClientById(MethodView):
    @blp.response(200, ApiClientSchema)
    def get(self, client_uuid):
        """One client (HQ)."""
        return clients.get_client(unit_of_work(), current_principal(), client_uuid)

    @blp.arguments(ApiClientUpdateSchema)
    @blp.response(200, ApiClientSchema)
    def patch(self, changes, client_uuid):
        """Rename a client or change its scopes (admin); effective on its next request."""
        return clients.update_client(unit_of_work(), current_principal(), client_uuid, **changes)

    @blp.response(204)
    def delete(self, client_uuid):
        """Revoke a client (admin): its secret and tokens stop working at once."""
        clients.revoke_client(unit_of_work(), current_principal(), client_uuid)


@blp.route("/clients/<uuid:client_uuid>/secret")
class ClientSecret(MethodView):
    @blp.response(200, IssuedClientSchema)
    def post(self, client_uuid):
        """Rotate a client's secret (admin): the old secret and its tokens stop working."""
        return _issued(clients.rotate_secret(unit_of_work(), current_principal(), client_uuid))


def _basic() -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not base64 of client_id:client_secret",
                           error="invalid_client") from None
    return unquote(client_id), unquote(secret)


@blp.route("/oauth/token")
class ClientToken(MethodView):
    @blp.doc(security=[])
    @blp.arguments(ClientTokenRequestSchema, location="form")
    @blp.response(200, ClientTokenSchema)
    @blp.alt_response(401, description="unknown client, wrong secret or revoked client (error: invalid_client)")
    @blp.alt_response(429, description="too many attempts")
    def post(self, body):
        """OAuth 2.0 client credentials (RFC 6749 4.4): client_id and client_secret in the form or as
        HTTP Basic; answers a Bearer access token."""
        basic = _basic()
        client_id, secret = basic if basic else (body["client_id"], body["client_secret"])
        if not client_id:
            raise ValidationFailed("client_id", "give client_id and client_secret (form or HTTP Basic)",
                                   error="invalid_request")
        if not secret:
            raise ValidationFailed("client_secret", "give client_id and client_secret (form or HTTP Basic)",
                                   error="invalid_request")
        limit_auth(f"client:{client_id}")
        with failed_login_budget():
            return clients.issue_token(unit_of_work(), token_config(), client_id=client_id, client_secret=secret,
                                       scope=body["scope"])
