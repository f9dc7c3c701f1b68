"""The HTTP layer: flask-smorest blueprints, schemas and the problem+json error mapping.

Every module in this package that defines a flask-smorest ``blp`` is registered; a module may
also define ``PUBLIC`` (endpoint names that need no token). Everything else requires a Bearer
access token: deny by default.
"""

from __future__ import annotations

import importlib

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, g, request
from marshmallow import fields

from dispatch.api import contract
from dispatch.api import errors as api_errors
from dispatch.api import i18n as api_i18n
from dispatch.api import observability, request_guard
from dispatch.api.deps import close_request_session, token_config, unit_of_work
from dispatch.api.idempotency import IdempotencyKeyPlugin
from dispatch.api.schemas.common import TaggedUnion
from dispatch.auth import service as auth_service
from dispatch.customers import sessions as customer_sessions
from dispatch.errors import Unauthorized
from dispatch.network.technicians import technician_id_of

API_SPEC = {
    "API_TITLE": "dispatch",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

SPEC_KWARGS = {
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    },
    "security": [{"bearerAuth": []}],
    "info": {"description": "After-sales field service: network, jobs, routing, SOP, stock, audits, sync."},
}


_schema_names: dict[str, type] = {}


def schema_name(schema) -> str:
    """OpenAPI component name: the class name without "Schema"; when two resources define a
    schema of the same name (jobs and stock both have a Transfer), the later one is qualified
    by its module (``StockTransfer``)."""
    cls = schema if isinstance(schema, type) else type(schema)
    base = cls.__name__.removesuffix("Schema") or cls.__name__
    owner = _schema_names.setdefault(base, cls)
    if owner is cls:
        return base
    module = cls.__module__.rsplit(".", 1)[-1].replace("_", " ").title().replace(" ", "")
    return f"{module}{base}"


def decimal_strings(self, field, **kwargs) -> dict:
    """apispec documents every Decimal as a number; one dumped ``as_string`` is sent as a JSON
    string ("268.00"), so that is what the document must say."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


def tagged_unions(self, field, **kwargs) -> dict:
    """A :class:`~dispatch.api.schemas.common.TaggedUnion` is a ``oneOf`` of its variants' schemas
    with a ``discriminator`` on the tag, so clients need not read the server's code."""
    if not isinstance(field, TaggedUnion):
        return {}
    refs = {tag: self.resolve_nested_schema(schema) for tag, schema in field.variants.items()}
    return {"oneOf": list(refs.values()),
            "discriminator": {"propertyName": field.tag, "mapping": {tag: ref["$ref"] for tag, ref in refs.items()}}}


BLUEPRINTS = (
    "admin_tasks",
    "attachments",
    "audit_log",
    "audits",
    "auth",
    "checklists",
    "claims",
    "complaints",
    "customer_auth",
    "customer_units",
    "customer_visits",
    "customers",
    "fault_causes",
    "feedback",
    "health",
    "job_parts",
    "jobs",
    "kpis",
    "maintenance",
    "notifications",
    "parts",
    "plan_pictures",
    "plans",
    "products",
    "public",
    "regions",
    "replans",
    "scorecards",
    "self_activations",
    "service_points",
    "sla_targets",
    "slots",
    "sop_templates",
    "stock",
    "sync",
    "technician_routes",
    "technicians",
    "tracing",
    "units",
    "users",
    "warranty_kpis",
)
"""Every blueprint module of dispatch/api, registered in this order (it is the OpenAPI document's
order of tags); a test fails when a module with a ``blp`` is missing here."""


def _blueprint_modules():
    """The modules of :data:`BLUEPRINTS`, imported (a missing one is an ImportError at start-up)."""
    return [importlib.import_module(f"{__name__}.{name}") for name in BLUEPRINTS]


def init_app(app: Flask) -> api_errors.DispatchApi:
    app.config.update(API_SPEC)
    app.url_map.strict_slashes = False  # /api/v1/jobs and /api/v1/jobs/ are the same collection
    observability.init_app(app)
    request_guard.init_app(app)
    api_i18n.init_app(app)
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec_kwargs = SPEC_KWARGS | {"marshmallow_plugin": marshmallow_plugin,
                                 "extra_plugins": [IdempotencyKeyPlugin(), api_errors.ProblemResponsesPlugin(),
                                                   contract.ContractPlugin(app)]}
    api = api_errors.DispatchApi(app, spec_kwargs=spec_kwargs)
    marshmallow_plugin.converter.add_attribute_function(decimal_strings)
    marshmallow_plugin.converter.add_attribute_function(tagged_unions)
    marshmallow_plugin.converter.add_attribute_function(contract.named_enums_and_nullable_refs)  # last
    public: set[str] = {"api-docs.openapi_json", "static", "prometheus_metrics"}
    customer_blueprints: set[str] = set()
    for module in _blueprint_modules():
        api.register_blueprint(module.blp)
        public |= set(getattr(module, "PUBLIC", ()))
        if getattr(module, "AUDIENCE", "staff") == "customer":
            customer_blueprints.add(module.blp.name)
    from dispatch.api import docs

    app.register_blueprint(docs.bp)
    api_errors.register(app)
    contract.init_app(app)
    app.teardown_appcontext(close_request_session)

    @app.before_request
    def authenticate():
        endpoint = request.endpoint or ""
        if endpoint in public or endpoint.startswith(docs.PUBLIC_PREFIX) or request.method == "OPTIONS":
            return None
        if not endpoint:
            return None  # unknown route: let the 404/405 handler answer
        if request.blueprint in app.extensions["dispatch"].session_blueprints:
            return None  # the console: its own sign-in resolves the same principal (dispatch.api.console.web)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a Bearer access token is required")
        if request.blueprint in customer_blueprints:
            # Customer routes take customer tokens only; staff routes never take them.
            g.customer = customer_sessions.principal_from_token(unit_of_work(), token_config(), token.strip())
            g.locale_preference = g.customer.locale
            return None
        g.principal = auth_service.principal_from_token(unit_of_work(), token_config(), token.strip(),
                                                        technician_of=technician_id_of)
        return None

    # After authentication: an anonymous caller gets its 401 without the body being parsed.
    app.before_request(request_guard.guard_request)

    app.extensions["dispatch"].public_endpoints = public
    app.extensions["dispatch"].customer_blueprints = customer_blueprints
    return api
