"""The worklists: items with their due times, the lists' summary, and "done with outcome"."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.i18n import problem_locale
from dispatch.worklists.enums import WorklistKind, WorklistOutcome, WorklistQueue, WorklistStatus
from dispatch.worklists.service import title_in


class ReaderTitle(fields.String):
    """The item's title in the language the request asks for (``Accept-Language``; English without)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(title_in(obj, problem_locale()), attr, obj, **kwargs)


class WorklistItemSchema(Schema):
    id = fields.UUID()
    kind = fields.Enum(WorklistKind, by_value=True)
    subject_id = fields.UUID(metadata={"description": "the job, callback item, maintenance plan, certificate, "
                                                      "complaint or warranty claim it is about"})
    service_point_id = fields.UUID(allow_none=True)
    queue = fields.Enum(WorklistQueue, by_value=True, metadata={"description": "the point's list or HQ's"})
    job_id = fields.UUID(allow_none=True)
    customer_id = fields.UUID(allow_none=True)
    title = ReaderTitle(metadata={"description": "in the language of Accept-Language (English without it)"})
    due_at = fields.DateTime()
    status = fields.Enum(WorklistStatus, by_value=True)
    outcome = fields.Enum(WorklistOutcome, by_value=True, allow_none=True)
    note = fields.String()
    callback_id = fields.UUID(allow_none=True, metadata={"description": "the call recorded for a callback"})
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.UUID(allow_none=True)


class WorklistFilterSchema(Schema):
    kind = fields.Enum(WorklistKind, by_value=True)
    status = fields.Enum(WorklistStatus, by_value=True, load_default=WorklistStatus.OPEN)
    queue = fields.Enum(WorklistQueue, by_value=True)
    service_point_id = fields.UUID()
    overdue = fields.Boolean(metadata={"description": "due time already past"})
    due_before = fields.AwareDateTime()


class WorklistSummaryFilterSchema(Schema):
    service_point_id = fields.UUID()


class WorklistSummarySchema(Schema):
    kind = fields.Enum(WorklistKind, by_value=True)
    open = fields.Integer()
    overdue = fields.Integer()
    next_due_at = fields.DateTime(allow_none=True)


class WorklistDoneSchema(Schema):
    outcome = fields.Enum(WorklistOutcome, by_value=True, required=True, metadata={
        "description": "calls (callbacks, filter reminders): reached, no_answer, wrong_number, declined or "
                       "not_needed; other items: handled or not_needed (with a note)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    satisfied = fields.Boolean(load_default=None, allow_none=True,
                               metadata={"description": "callbacks: was the problem solved? (reached only)"})
    score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "callbacks: the score given on the phone (reached only)"})


class WorklistRefreshSchema(Schema):
    task_id = fields.String()
