"""``Idempotency-Key`` on the creates a call centre, an app or an integration may retry.

Decorate the view above flask-smorest's decorators, so that what it wraps returns the
serialised response (and a request body that fails validation stores nothing)::

    @idempotent
    @blp.arguments(JobCreateSchema())
    @blp.response(201, JobDetailSchema)
    def post(self, body): ...

The key is per principal; the same key and request replays the first response (status, body,
Location, plus ``Idempotent-Replayed: true``); the same key with another request is 422; a
duplicate arriving while the first is in flight is 409. The header and those answers are added
to the operation's OpenAPI entry by :class:`IdempotencyKeyPlugin`.
"""

from __future__ import annotations

import functools
from copy import deepcopy

from apispec import BasePlugin
from flask import jsonify, request

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.idempotency import service as idempotency

EXTENSION = "x-idempotency-key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)


def _request_fingerprint() -> str:
    body = request.get_json(silent=True) if request.is_json else request.get_data().hex()
    return idempotency.fingerprint(request.method, request.path, request.query_string.decode(), body)


def _replay(stored: idempotency.StoredResponse):
    response = jsonify(stored.body)
    response.status_code = stored.status_code
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def idempotent(view):
    """Honour ``Idempotency-Key`` on a create (see the module docstring)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        raw_key = request.headers.get(idempotency.HEADER)
        if raw_key is None:
            return view(*args, **kwargs)
        key = idempotency.check_key(raw_key)
        user_id = current_principal().user_id
        stored = idempotency.claim(unit_of_work(), user_id, key, _request_fingerprint())
        if stored is not None:
            return _replay(stored)
        response = view(*args, **kwargs)
        if 200 <= response.status_code < 300:
            headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            idempotency.complete(unit_of_work(), user_id, key,
                                 idempotency.StoredResponse(response.status_code, response.get_json(), headers))
        else:
            idempotency.complete(unit_of_work(), user_id, key, None)
        return response

    wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    return documented(wrapper)


def documented(view):
    """Document ``Idempotency-Key`` on a view whose service honours the key itself (the sync push
    stores its answer in its own transaction); :func:`idempotent` does this for the others."""
    view._apidoc = getattr(view, "_apidoc", {})
    view._apidoc.setdefault("manual_doc", {})[EXTENSION] = True
    return view


def replayed_headers(replayed: bool) -> dict[str, str]:
    """The header a replayed answer carries (for views whose service replays on its own)."""
    return {REPLAYED: "true"} if replayed else {}


class IdempotencyKeyPlugin(BasePlugin):
    """Document the header, and the 409/422 it may answer, on the operations marked by
    :func:`idempotent` (runs before the problem+json plugin, which gives those answers a body)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not operation.pop(EXTENSION, False):
                continue
            operation.setdefault("parameters", []).append({
                "in": "header", "name": idempotency.HEADER, "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
                "description": "Send a unique key (e.g. a UUID) to make a retry safe: the same key and body "
                               "return the first response (with `Idempotent-Replayed: true`) instead of creating "
                               "again; the same key with another body is 422. Keys are per user and kept 24 h.",
            })
            responses = operation.setdefault("responses", {})
            responses.setdefault("409", {"description": "a request with this Idempotency-Key is still in flight "
                                                        "(`idempotency-key-in-flight`): retry shortly"})
            responses.setdefault("422", {"description": "invalid input, or the Idempotency-Key was used with "
                                                        "another request (`idempotency-key-reused`)"})
