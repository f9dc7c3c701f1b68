"""Maintenance plans."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class OccurrenceSchema(Schema):
    due_on = fields.Date(metadata={"description": "the due date this job was created for"})
    job_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class MaintenancePlanSchema(Schema):
    id = fields.UUID(dump_only=True)
    unit_id = fields.UUID()
    unit_serial = fields.String(attribute="unit.serial")
    interval_days = fields.Integer()
    next_due_on = fields.Date(metadata={"description": "local date the next maintenance falls due"})
    last_done_on = fields.Date(allow_none=True)
    service_point_id = fields.UUID(allow_none=True, metadata={"description": "the point that served the plan last"})
    active = fields.Boolean()
    version = fields.Integer()
    occurrences = fields.List(fields.Nested(OccurrenceSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MaintenancePlanUpdateSchema(Schema):
    interval_days = fields.Integer(validate=validate.Range(min=7, max=3650),
                                   metadata={"description": "days between maintenance visits"})
    next_due_on = fields.Date()
    active = fields.Boolean(metadata={"description": "false pauses the plan (no jobs are created)"})


class MaintenancePlanFilterSchema(Schema):
    due_before = fields.Date(metadata={"description": "plans due before this local date"})
    active = fields.Boolean()
    service_point_id = fields.UUID()
    unit_id = fields.UUID()


class GenerationRequestSchema(Schema):
    lead_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=90),
                               metadata={"description": "create jobs this many days before they fall due"})


class GenerationQueuedSchema(Schema):
    task_id = fields.String()
    lead_days = fields.Integer()
