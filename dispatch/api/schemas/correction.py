"""Corrective-action plans: open, answer, re-audit, verdicts, decision; the plan as read."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from dispatch.audits.sampling import LotDecision, Verdict
from dispatch.correction.enums import CorrectiveActionStatus, CorrectiveOutcome, CorrectivePlanStatus

TEXT = validate.Length(min=1, max=2000)
DAYS = validate.Range(min=date(2000, 1, 1), max=date(2199, 12, 31))


# --- input ------------------------------------------------------------------------------------------


class CorrectivePlanCreateSchema(Schema):
    service_point_id = fields.UUID(required=True)
    findings = fields.String(required=True, validate=TEXT, metadata={"description": "what HQ found"})
    actions = fields.List(fields.String(validate=TEXT), required=True, validate=validate.Length(min=1, max=30),
                          metadata={"description": "the required actions, one text each"})
    deadline = fields.Date(required=True, validate=DAYS,
                           metadata={"description": "last local day to correct; the re-audit samples work after it"})


class CorrectiveAnswerSchema(Schema):
    action_id = fields.UUID(required=True)
    answer = fields.String(required=True, validate=TEXT)
    evidence = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20),
                           metadata={"description": "attachment ids uploaded at the point (POST /attachments/)"})


class ReauditVerdictSchema(Schema):
    checklist_id = fields.UUID(required=True)
    verdict = fields.Enum(Verdict, by_value=True, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CorrectiveDecisionSchema(Schema):
    outcome = fields.Enum(CorrectiveOutcome, by_value=True, required=True)
    note = fields.String(required=True, validate=TEXT)
    deadline = fields.Date(load_default=None, allow_none=True, validate=DAYS,
                           metadata={"description": "extend: the new deadline"})
    successor_point_id = fields.UUID(load_default=None, allow_none=True,
                                     metadata={"description": "revoke: the point that takes over the regions"})


class CorrectivePlanFilterSchema(Schema):
    service_point_id = fields.UUID()
    status = fields.Enum(CorrectivePlanStatus, by_value=True)
    open_only = fields.Boolean(data_key="open", load_default=False,
                               metadata={"description": "only plans not decided yet (open or re-audit)"})


# --- output -----------------------------------------------------------------------------------------


class CorrectiveActionSchema(Schema):
    id = fields.UUID()
    seq = fields.Integer()
    requirement = fields.String()
    status = fields.Enum(CorrectiveActionStatus, by_value=True)
    answer = fields.String()
    evidence = fields.List(fields.String())
    answered_by = fields.UUID(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class ReauditItemSchema(Schema):
    round = fields.Integer()
    checklist_id = fields.UUID()
    rank = fields.Integer()
    rank_key = fields.String()
    verdict = fields.Enum(Verdict, by_value=True, allow_none=True)
    note = fields.String()
    reviewer_id = fields.UUID(allow_none=True)
    judged_at = fields.DateTime(allow_none=True)


class ReauditResultSchema(Schema):
    judged = fields.Integer()
    defects = fields.Integer()
    critical = fields.Boolean()
    decision = fields.Enum(LotDecision, by_value=True, allow_none=True,
                           metadata={"description": "accepted / rejected once certain, else null"})


class CorrectiveGroundSchema(Schema):
    code = fields.String(metadata={"description": "scorecard | sla | complaints"})
    detail = fields.Dict()


class CorrectivePlanSchema(Schema):
    id = fields.UUID()
    service_point_id = fields.UUID()
    service_point_code = fields.String(attribute="service_point.code")
    status = fields.Enum(CorrectivePlanStatus, by_value=True)
    findings = fields.String()
    grounds = fields.List(fields.Nested(CorrectiveGroundSchema))
    deadline = fields.Date()
    opened_by = fields.UUID(allow_none=True)
    opened_at = fields.DateTime()
    round = fields.Integer()
    actions = fields.List(fields.Nested(CorrectiveActionSchema))
    reaudit_drawn_at = fields.DateTime(allow_none=True)
    reaudit_seed = fields.String(allow_none=True, metadata={"description": "revealed at the draw: re-derive the sample"})
    reaudit_frame_sha256 = fields.String(allow_none=True)
    frame_size = fields.Integer(allow_none=True)
    sample_size = fields.Integer(allow_none=True)
    accept_number = fields.Integer(allow_none=True)
    reject_number = fields.Integer(allow_none=True)
    reaudit_items = fields.List(fields.Nested(ReauditItemSchema), attribute="items")
    reaudit = fields.Nested(ReauditResultSchema, allow_none=True)
    outcome = fields.Enum(CorrectiveOutcome, by_value=True, allow_none=True)
    decision_note = fields.String()
    decided_by = fields.UUID(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    successor_point_id = fields.UUID(allow_none=True)
    version = fields.Integer()
