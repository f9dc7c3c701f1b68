"""Tokens: log in, refresh."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import token_config, unit_of_work
from dispatch.api.ratelimit import failed_login_budget, limit_auth
from dispatch.api.schemas.auth import RefreshRequestSchema, TokenPairSchema, TokenRequestSchema
from dispatch.auth import service

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Access and refresh tokens")

PUBLIC = {"auth.Token", "auth.Refresh"}


@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequestSchema())
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Unknown username or wrong password")
    @blp.alt_response(429, description="Too many attempts for this username, or too many failed logins "
                                       "from this address")
    def post(self, credentials):
        """Exchange a username and password for an access/refresh token pair."""
        limit_auth(credentials["username"])
        with failed_login_budget():
            return service.login(unit_of_work(), token_config(), **credentials)


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.doc(security=[])
    @blp.arguments(RefreshRequestSchema())
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Refresh token invalid, expired, revoked or reused")
    def post(self, body):
        """Rotate a refresh token (each one is good once; reuse revokes every session)."""
        limit_auth("refresh")
        return service.refresh(unit_of_work(), token_config(), refresh_token=body["refresh_token"])
