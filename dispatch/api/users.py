"""User accounts."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, token_config, unit_of_work
from dispatch.api.schemas.users import UserCreateSchema, UserFilterSchema, UserSchema
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
