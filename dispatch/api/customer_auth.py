"""The customer signs in with their phone number and a one-time code (SMS), and manages their
profile. Budgets: codes per number and per address, wrong codes per address (see README)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.blueprint import without_token
from dispatch.api.deps import current_customer, limiter, settings, task_queue, token_config, unit_of_work
from dispatch.api.i18n import request_locale
from dispatch.api.schemas.customer import (
    CodeRequestSchema,
    CodeSentSchema,
    CustomerProfileSchema,
    CustomerSessionSchema,
    SessionRequestSchema,
)
from dispatch.customers import sessions
from dispatch.errors import Unauthorized
from dispatch.network.customers import normalise_phone

blp = Blueprint("customer_auth", __name__, url_prefix="/api/v1/customer",
                description="Customer sign-in by SMS code, and the customer's profile")

AUDIENCE = "customer"
PUBLIC = {"customer_auth.SignInCode", "customer_auth.Session"}


@blp.route("/otp")
class SignInCode(MethodView):
    @without_token(blp, CodeRequestSchema, CodeSentSchema, status=202, failures={
        429: "too many codes for this number or from this address"})
    def post(self, body):
        """Text a 6-digit sign-in code to a phone number (the same answer whether or not the
        number belongs to a customer)."""
        phone = normalise_phone(body["phone"], "phone")
        limiter("otp_address").check(f"otp-address:{request.remote_addr}")
        limiter("otp_phone").check(f"otp-phone:{phone}")
        return sessions.request_code(unit_of_work(), task_queue(), secret_key=settings().secret_key, phone=phone,
                                     locale=request_locale())


@blp.route("/session")
class Session(MethodView):
    @without_token(blp, SessionRequestSchema, CustomerSessionSchema, failures={
        401: "the code is wrong, used, expired or was never sent",
        429: "too many wrong codes from this address"})
    def post(self, body):
        """Trade the code for a customer token (valid for DISPATCH_CUSTOMER_TOKEN_TTL_S)."""
        with limiter("otp_verify").failures(f"otp-verify:{request.remote_addr}", Unauthorized):
            return sessions.verify_code(unit_of_work(), token_config(), phone=body["phone"], code=body["code"],
                                        ttl_s=settings().customer_token_ttl_s, locale=request_locale())


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, CustomerProfileSchema)
    def get(self):
        """Your profile."""
        return sessions.get_profile(unit_of_work(), current_customer())

    @blp.arguments(CustomerProfileSchema())
    @blp.response(200, CustomerProfileSchema)
    def patch(self, changes):
        """Change your name, e-mail, address, location or language (zh-CN, en)."""
        return sessions.update_profile(unit_of_work(), current_customer(), **changes)


@blp.route("/me/sessions")
class MySessions(MethodView):
    @blp.response(204)
    def delete(self):
        """Sign out everywhere: every token issued to you so far stops working."""
        sessions.sign_out_everywhere(unit_of_work(), current_customer())
