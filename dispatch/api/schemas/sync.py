from __future__ import annotations

from marshmallow import Schema, fields, validate

MUTATION_KINDS = ("job_transition", "checklist_step", "parts_consumed", "note")


class PullQuerySchema(Schema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=2000),
                           metadata={"description": "opaque cursor from the previous page; omit for a snapshot"})
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))
    device_id = fields.UUID(load_default=None)


class ChangeSetSchema(Schema):
    upserted = fields.List(fields.Dict())
    removed = fields.List(fields.String())


class PullPageSchema(Schema):
    changes = fields.Dict(keys=fields.String(), values=fields.Dict(),
                          metadata={"description": "per entity type: upserted documents and removed ids"})
    next_cursor = fields.String()
    has_more = fields.Boolean()
    snapshot = fields.Boolean()
    last_mutation_id = fields.Integer(allow_none=True)
    server_time = fields.DateTime()


class MutationSchema(Schema):
    id = fields.Integer(required=True, validate=validate.Range(min=1),
                        metadata={"description": "per-device sequential id: 1, 2, 3..."})
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "one of " + ", ".join(MUTATION_KINDS)})
    payload = fields.Dict(required=True)
    recorded_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "the device's clock when it happened"})


class PushSchema(Schema):
    device_id = fields.UUID(required=True)
    app_version = fields.String(load_default=None, validate=validate.Length(max=40))
    mutations = fields.List(fields.Nested(MutationSchema), required=True, validate=validate.Length(max=500))


class MutationResultSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "applied | duplicate | rejected | conflict"})
    reason = fields.String()
    result = fields.Dict()
    original = fields.Dict(allow_none=True)
    problem = fields.Dict()
    quarantined = fields.Boolean()
    clock_skew_s = fields.Integer()
    clock_flagged = fields.Boolean()


class PushResultSchema(Schema):
    device_id = fields.String()
    last_mutation_id = fields.Integer()
    results = fields.List(fields.Nested(MutationResultSchema))
    gap_at = fields.Integer(allow_none=True)
    server_time = fields.String()


class QuarantinedEvidenceSchema(Schema):
    id = fields.UUID()
    job_id = fields.UUID()
    technician_id = fields.UUID(allow_none=True)
    device_id = fields.UUID()
    mutation_id = fields.Integer()
    kind = fields.String()
    payload = fields.Dict()
    reason = fields.String()
    detail = fields.String()
    recorded_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
