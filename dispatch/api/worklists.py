"""Worklists: callbacks, filter-change reminder calls, expiring certificates, complaints near
their time limit, claims waiting for the old part; per point (its manager) and for HQ."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.worklists import (
    WorklistDoneSchema,
    WorklistFilterSchema,
    WorklistItemSchema,
    WorklistRefreshSchema,
    WorklistSummaryFilterSchema,
    WorklistSummarySchema,
)
from dispatch.worklists import service as worklists

blp = Blueprint("worklists", __name__, url_prefix="/api/v1/worklist-items",
                description="What a point's manager and HQ must do next, with due times")


@blp.route("/")
class WorklistItems(MethodView):
    @blp.arguments(WorklistFilterSchema, location="query")
    @blp.response(200, WorklistItemSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """The open items, earliest due first (a manager: their point's list; HQ: every list,
        `?queue=hq` for its own desk); `?kind=` picks one list."""
        items, total = worklists.list_items(unit_of_work(), current_principal(),
                                            offset=pagination_parameters.first_item,
                                            limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/summary")
class WorklistSummary(MethodView):
    @blp.arguments(WorklistSummaryFilterSchema, location="query")
    @blp.response(200, WorklistSummarySchema(many=True))
    def get(self, filters):
        """Per list: open items, overdue items, the next due time."""
        return worklists.summary(unit_of_work(), current_principal(), **filters)


@blp.route("/refresh")
class WorklistRefresh(MethodView):
    @blp.response(202, WorklistRefreshSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self):
        """Refresh the lists now instead of at the next cron run (idempotent)."""
        return worklists.request_refresh(unit_of_work(), current_principal(), task_queue(),
                                         tz=ZoneInfo(settings().timezone))


@blp.route("/<uuid:item_id>")
class WorklistItemById(MethodView):
    @blp.response(200, WorklistItemSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such item, or not on the caller's list")
    def get(self, item_id):
        """One item."""
        return worklists.get_item(unit_of_work(), current_principal(), item_id)


@blp.route("/<uuid:item_id>/done")
class WorklistItemDone(MethodView):
    @blp.arguments(WorklistDoneSchema)
    @blp.response(200, WorklistItemSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such item, or not on the caller's list")
    @blp.alt_response(409, schema=ProblemSchema, description="done or cleared already")
    def post(self, body, item_id):
        """Done, with outcome: the item leaves the list; a callback's call (and the customer's
        answer) is recorded on the visit."""
        return worklists.complete(unit_of_work(), current_principal(), item_id, **body)
