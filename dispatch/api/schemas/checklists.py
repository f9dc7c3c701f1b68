"""Checklists: each step's state and results (with every revision on request) and a step submission."""

from __future__ import annotations

from marshmallow import Schema, fields, post_dump, validate

from dispatch.api.schemas.attachments import AttachmentSchema
from dispatch.api.schemas.common import LocationSchema
from dispatch.sop.enums import ChecklistStatus
from dispatch.sop.rules import OutOfRange, StepKind, StepStatus


class ReasonSchema(Schema):
    code = fields.String(metadata={"description": "below-min, above-max, not-lower, not-higher, not-confirmed"})
    message = fields.String()


class StepResultSchema(Schema):
    id = fields.UUID()
    revision = fields.Integer(metadata={"description": "1 for the first submission, then 2, 3..."})
    value = fields.Raw(allow_none=True)
    status = fields.Enum(StepStatus, by_value=True, metadata={"description": "as judged when submitted"})
    reasons = fields.List(fields.Nested(ReasonSchema))
    evidence = fields.List(fields.Nested(AttachmentSchema), attribute="attachments")
    recorded_at = fields.DateTime(allow_none=True, metadata={"description": "the device's clock"})
    received_at = fields.DateTime(metadata={"description": "the server's clock"})
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    actor_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    source = fields.String(metadata={"description": "api, or sync for an offline push"})


class StepStateSchema(Schema):
    key = fields.String(attribute="step.key")
    position = fields.Integer(attribute="step.position")
    title = fields.String(attribute="step.title")
    instructions = fields.String(attribute="step.instructions")
    kind = fields.Enum(StepKind, by_value=True, attribute="step.kind")
    required = fields.Boolean(attribute="step.required")
    out_of_range = fields.Enum(OutOfRange, by_value=True, attribute="step.out_of_range")
    unit = fields.String(attribute="step.params.unit")
    min = fields.Float(attribute="step.params.min")
    max = fields.Float(attribute="step.params.max")
    decimals = fields.Integer(attribute="step.params.decimals")
    options = fields.List(fields.String(), attribute="step.params.options")
    min_count = fields.Integer(attribute="step.params.min_count")
    max_count = fields.Integer(attribute="step.params.max_count")
    lt_step = fields.String(attribute="step.params.lt_step")
    gt_step = fields.String(attribute="step.params.gt_step")
    status = fields.Enum(StepStatus, by_value=True, metadata={"description": "judged on the current values"})
    reasons = fields.List(fields.Nested(ReasonSchema))
    prerequisites = fields.List(fields.String(), metadata={"description": "steps needed before this one"})
    waiting_for = fields.List(fields.String(), metadata={"description": "prerequisites not submitted yet"})
    current = fields.Nested(StepResultSchema, allow_none=True, metadata={"description": "the newest revision"})
    revisions = fields.List(fields.Nested(StepResultSchema),
                            metadata={"description": "every submission, oldest first (include=revisions)"})

    @post_dump
    def _drop_unrequested_revisions(self, data, **kwargs):
        if data.get("revisions") is None:
            data.pop("revisions", None)
        return data


class ChecklistSchema(Schema):
    id = fields.UUID(attribute="checklist.id")
    job_id = fields.UUID(attribute="checklist.job_id")
    job_reference = fields.String(attribute="checklist.job.reference")
    service_point_id = fields.UUID(attribute="checklist.service_point_id", allow_none=True)
    status = fields.Enum(ChecklistStatus, by_value=True, attribute="checklist.status")
    template_id = fields.UUID(attribute="version.template_id")
    template_code = fields.String(attribute="version.template.code")
    version_number = fields.Integer(attribute="version.number")
    version_title = fields.String(attribute="version.title")
    content_sha256 = fields.String(attribute="version.content_sha256")
    complete = fields.Boolean(attribute="outcome.complete",
                              metadata={"description": "no required step missing and no blocking step failed"})
    missing_steps = fields.List(fields.String(), attribute="outcome.missing_required")
    failed_steps = fields.List(fields.String(), attribute="outcome.failed")
    flagged_steps = fields.List(fields.String(), attribute="outcome.flagged")
    technician_id = fields.UUID(attribute="checklist.technician_id", allow_none=True)
    created_at = fields.DateTime(attribute="checklist.created_at")
    completed_at = fields.DateTime(attribute="checklist.completed_at", allow_none=True)
    result_sha256 = fields.String(attribute="checklist.result_sha256", allow_none=True)
    steps = fields.List(fields.Nested(StepStateSchema))


class ChecklistQuerySchema(Schema):
    include = fields.String(validate=validate.OneOf(["revisions"]),
                            metadata={"description": "revisions: every submission of every step"})


class ChecklistSummarySchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    job_reference = fields.String(attribute="job.reference")
    service_point_id = fields.UUID(allow_none=True)
    status = fields.Enum(ChecklistStatus, by_value=True)
    template_code = fields.String(attribute="template_version.template.code")
    version_number = fields.Integer(attribute="template_version.number")
    technician_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    flagged_steps = fields.List(fields.String())
    result_sha256 = fields.String(allow_none=True)


class ChecklistFilterSchema(Schema):
    service_point_id = fields.UUID()
    week = fields.String(validate=validate.Regexp(r"^\d{4}-W\d{2}$", error="an ISO week like 2026-W48"),
                         metadata={"description": "completed in this ISO week (the network's local time)"})
    status = fields.Enum(ChecklistStatus, by_value=True)
    technician_id = fields.UUID()


class StepSubmitSchema(Schema):
    value = fields.Raw(load_default=None, allow_none=True, metadata={
        "description": "confirm: true/false; number: a number; choice: an option; text: text; "
                       "photo: null; signature: the signer's name"})
    evidence = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=20),
                           metadata={"description": "attachment ids (photos, the signature image)"})
    recorded_at = fields.AwareDateTime(required=True, metadata={"description": "the device's clock"})
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True,
                             metadata={"description": "where the device was"})
