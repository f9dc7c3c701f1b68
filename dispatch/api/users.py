"""User accounts."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, token_config, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.users import (
    PasswordChangeSchema,
    PasswordSetSchema,
    UserCreateSchema,
    UserFilterSchema,
    UserSchema,
)
from dispatch.auth import service

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="User accounts")


@blp.route("/")
class Users(MethodView):
    @blp.arguments(UserFilterSchema(), location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List accounts (HQ: all; a manager: their point's)."""
        items, total = service.list_users(unit_of_work(), current_principal(), offset=pagination_parameters.first_item,
                                          limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(UserCreateSchema())
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create an account (admin: any role; manager: technicians of their point)."""
        user = service.add_user(unit_of_work(), current_principal(), token_config(), **body)
        return user, {"Location": url_for("users.UserById", user_id=user.id)}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """The caller's own account."""
        return service.get_user(unit_of_work(), current_principal(), current_principal().user_id)


@blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One account (404 when it is not the caller's to see)."""
        return service.get_user(unit_of_work(), current_principal(), user_id)


@blp.route("/me/password")
class OwnPassword(MethodView):
    @blp.arguments(PasswordChangeSchema())
    @blp.response(204)
    @blp.alt_response(422, schema=ProblemSchema, description="the current password is wrong, or the new one is it")
    def post(self, body):
        """Change the caller's own password; every session of the account ends (sign in again)."""
        service.change_password(unit_of_work(), current_principal(), token_config(), **body)


@blp.route("/<uuid:user_id>/password")
class UserPassword(MethodView):
    @blp.arguments(PasswordSetSchema())
    @blp.response(204)
    @blp.alt_response(403, schema=ProblemSchema, description="a manager setting a non-technician's password")
    @blp.alt_response(404, schema=ProblemSchema, description="no such account, or another point's")
    def post(self, body, user_id):
        """Set an account's password (admin: any person's; manager: their point's technicians, e.g. a new or
        imported one's first password); the account's sessions end."""
        service.set_password(unit_of_work(), current_principal(), token_config(), user_id, **body)

