"""Every error leaves as RFC 9457 ``application/problem+json``; the only place errors meet HTTP."""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import current_app, jsonify, request
from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

from dispatch import errors
from dispatch.api.i18n import localise_problem
from dispatch.i18n import N_

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.DispatchError], int] = {
    errors.NotFound: 404,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.RuleViolation: 422,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.TooManyRequests: 429,
    errors.ServiceUnavailable: 503,
    errors.DispatchError: 400,
}

# Titles for statuses raised by Flask/werkzeug/flask-smorest themselves.
VALIDATION_CODE = "validation-error"


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    class Meta:
        unknown = INCLUDE  # extension members (existing_id, allowed, current, ...) are part of a problem

    type = fields.String(required=True, metadata={"description": "URI identifying the problem type"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    code = fields.String(metadata={"description": "stable machine-readable slug"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "validation errors by field (dotted path)"},
    )


def problem_type(code: str) -> str:
    base = current_app.extensions["dispatch"].settings.problem_type_base
    return f"{base}{code}"


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None):
    problem.setdefault("instance", request.path)
    response = jsonify(problem)
    response.status_code = problem["status"]
    response.mimetype = PROBLEM_MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn webargs' ``{"json": {"location": {"lat": ["..."]}}}`` into ``{"location.lat": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if prefix == "" and key in {"json", "query", "form", "files", "headers", "view_args", "path"}:
                flat |= flatten_messages(value, "")
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
                flat |= flatten_messages(value, name)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            flat |= flatten_messages(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


class ProblemResponsesPlugin(BasePlugin):
    """Document every 4xx/5xx response of every operation as ``application/problem+json``
    with the Problem schema (alternative responses declared with a bare description too)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            for status, response in operation.get("responses", {}).items():
                if (not isinstance(response, dict) or "$ref" in response or not str(status).isdigit()
                        or int(status) < 400):
                    continue
                content = response.setdefault("content", {})
                body = content.pop("application/json", None) or {"schema": {"$ref": "#/components/schemas/Problem"}}
                content.setdefault(PROBLEM_MEDIA_TYPE, body)


class DispatchApi(Api):
    """flask-smorest Api whose errors are problem+json (and documented as such)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        """flask-smorest's standard responses, with error bodies documented under
        ``application/problem+json`` (the media type they are actually sent with)."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                if status >= 400:
                    content_type = PROBLEM_MEDIA_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def _register_pagination_header(self):
        """X-Pagination carries a JSON object, so it is documented with ``content``: a bare
        ``schema`` (flask-smorest's) means OpenAPI's comma-separated ``simple`` style."""
        self.spec.components.header("PAGINATION", {
            "description": "Pagination metadata (JSON)",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        code = error.code or 500
        problem: dict[str, Any] = {"type": "about:blank", "title": error.name, "status": code}
        if "messages" in data or "errors" in data:
            problem |= {
                "type": problem_type(VALIDATION_CODE),
                "code": VALIDATION_CODE,
                "title": "Request validation failed",
                "errors": flatten_messages(data.get("errors") or data.get("messages")),
            }
            fields_named = ", ".join(sorted(problem["errors"]))
            problem["detail"] = f"invalid fields: {fields_named}"
            problem |= {"detail_msgid": N_("invalid fields: {fields}"), "detail_params": {"fields": fields_named}}
        elif "message" in data:
            problem["detail"] = data["message"]
        elif code >= 500:
            log.exception("unhandled error", exc_info=getattr(error, "original_exception", None))
            problem["detail"] = problem["detail_msgid"] = N_("an unexpected error occurred; it has been logged")
        elif error.description and code != 404:
            problem["detail"] = error.description
        elif code == 404:
            problem["detail"] = f"no resource at {request.path}"
            problem |= {"detail_msgid": N_("no resource at {path}"), "detail_params": {"path": request.path}}
        headers = dict(data.get("headers") or {})
        if code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers.setdefault("Allow", ", ".join(error.valid_methods))
        return problem_response(localise_problem(problem), headers)


def handle_dispatch_error(error: errors.DispatchError):
    status = next(STATUS_BY_ERROR[cls] for cls in type(error).__mro__ if cls in STATUS_BY_ERROR)
    problem: dict[str, Any] = {
        "type": problem_type(error.code),
        "title": error.title,
        "status": status,
        "detail": error.detail,
        "code": error.code,
    }
    localise_problem(problem, error)
    headers: dict[str, str] = {}
    for key, value in error.extra.items():
        if key == "retry_after_s":
            headers["Retry-After"] = str(value)
        else:
            problem.setdefault(key, value)  # extension members never overwrite the core ones
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if status == 503:
        headers.setdefault("Retry-After", "5")
    return problem_response(problem, headers)


def register(app) -> None:
    app.register_error_handler(errors.DispatchError, handle_dispatch_error)
