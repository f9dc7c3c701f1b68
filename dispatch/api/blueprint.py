"""The Blueprint of every resource with an ETag: If-Match is required only once the object is
known to be the caller's.

flask-smorest answers a PUT/PATCH/DELETE without ``If-Match`` with 428 before the view runs,
that is before anyone knows whether the object exists or belongs to the caller. Here the 428
comes from :meth:`Blueprint.check_etag`, which views call after their scoped lookup, so the
order is always: another point's object or a missing one (404), a role that may not do it (403),
no If-Match (428), a stale one (412).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.exceptions import PreconditionRequired


class Blueprint(SmorestBlueprint):
    def _check_precondition(self) -> None:
        """Deferred to :meth:`check_etag` (see the module docstring)."""

    def check_etag(self, etag_data, etag_schema=None) -> None:
        if request.method in self.METHODS_NEEDING_CHECK_ETAG and not request.if_match:
            raise PreconditionRequired
        super().check_etag(etag_data, etag_schema)


def page_of(pagination_parameters, fetch: Callable[..., tuple[list, int]]) -> list:
    """One page of a paginated list view: ``fetch(offset=, limit=)`` answers (items, total) for
    the requested page, and flask-smorest is told the total (the X-Pagination header)."""
    items, total = fetch(offset=pagination_parameters.first_item, limit=pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return items


def _instance(schema):
    """A schema object built once, at import: given a class, webargs would build one per request."""
    return schema() if isinstance(schema, type) else schema


def without_token(blp: SmorestBlueprint, body, answer, *, failures: dict[int, str], status: int = 200):
    """The decorators of an operation called without a token (a sign-in or a token exchange):
    no security requirement in the document, the body, the answer and the documented failures."""

    def decorate(view):
        for code, description in reversed(failures.items()):
            view = blp.alt_response(code, description=description)(view)
        return blp.doc(security=[])(blp.arguments(_instance(body))(blp.response(status, answer)(view)))

    return decorate
