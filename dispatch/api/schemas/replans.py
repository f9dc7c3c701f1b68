"""Re-plans of the rest of a day after something went wrong."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import EnumValue
from dispatch.routing.enums import ReplanKind, ReplanStatus


class ReplanCreateSchema(Schema):
    kind = fields.Enum(ReplanKind, by_value=True, required=True,
                         metadata={"description": "technician_unavailable (technician_id), overrun (job_id, "
                                                  "extra_minutes), no_show (job_id), emergency (job_id)"})
    technician_id = fields.UUID(load_default=None, allow_none=True)
    job_id = fields.UUID(load_default=None, allow_none=True)
    extra_minutes = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=1, max=480))
    time_limit_s = fields.Integer(load_default=2, strict=True, validate=validate.Range(min=1, max=30),
                                  metadata={"description": "time to re-plan the day (the answer waits)"})


class ReplanMoveSchema(Schema):
    job_id = fields.String()
    job_reference = fields.String()
    from_technician_id = fields.String(allow_none=True)
    to_technician_id = fields.String()
    from_start = fields.String(allow_none=True)
    to_start = fields.String()
    from_helper_ids = fields.List(fields.String(), dump_default=list,
                                  metadata={"description": "a crew job's helpers before (empty: no crew)"})
    to_helper_ids = fields.List(fields.String(), dump_default=list,
                                metadata={"description": "a crew job's helpers after: all booked on confirm"})


class ReplanFlagSchema(Schema):
    job_id = fields.String()
    job_reference = fields.String()
    reason = fields.String()
    detail = fields.String()


class ReplanSchema(Schema):
    id = fields.UUID()
    service_point_id = fields.UUID()
    date = fields.Date(attribute="service_day")
    kind = EnumValue(ReplanKind)
    technician_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    extra_minutes = fields.Integer(allow_none=True)
    status = fields.Enum(ReplanStatus, by_value=True)
    moves = fields.List(fields.Nested(ReplanMoveSchema), metadata={"description": "visits that get a new "
                                                                                   "technician or start"})
    flagged = fields.List(fields.Nested(ReplanFlagSchema), metadata={"description": "visits nobody can take, "
                                                                                     "with reasons"})
    stats = fields.Dict()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
