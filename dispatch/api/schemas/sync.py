"""Sync pull pages and push batches. Each mutation kind has its own payload schema: they are the
documentation of the protocol (a discriminated ``oneOf`` on ``kind`` in the OpenAPI document) and
the check every pushed payload goes through."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from dispatch.api.errors import flatten_messages
from dispatch.api.schemas.common import NOT_BLANK, LocationSchema, TaggedUnion
from dispatch.api.schemas.job_parts import ConsumptionLineSchema
from dispatch.jobs.enums import JobStatus

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


# --- payloads, one schema per mutation kind ------------------------------------------------------

class _JobPayloadSchema(Schema):
    job_id = fields.UUID(required=True, metadata={"description": "the job the mutation is about (assigned to you)"})


class JobTransitionPayloadSchema(_JobPayloadSchema):
    to = fields.Enum(JobStatus, by_value=True, required=True,
                     metadata={"description": "the status to move to (en_route, on_site, completed, on_hold...)"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True,
                             metadata={"description": "where the phone was"})


class ChecklistStepPayloadSchema(_JobPayloadSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=64),
                        metadata={"description": "the SOP step's key"})
    value = fields.Raw(load_default=None, allow_none=True,
                       metadata={"description": "the reading, choice, text, true/false or signer's name the step asks"})
    evidence = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                           validate=validate.Length(max=20),
                           metadata={"description": "attachment ids, or the SHA-256 of photos not uploaded yet "
                                                    "(the step is recorded when they arrive)"})
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)


class PartsConsumedPayloadSchema(_JobPayloadSchema):
    lines = fields.List(fields.Nested(ConsumptionLineSchema), required=True, validate=validate.Length(min=1, max=50),
                        metadata={"description": "parts fitted; give each line an id so a replay records it once"})


class NotePayloadSchema(_JobPayloadSchema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=4000), NOT_BLANK])


class FaultCausePayloadSchema(_JobPayloadSchema):
    fault_cause_code = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                     metadata={"description": "the catalogue code of the cause found (a repair "
                                                              "completes only with one)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


# --- mutations: the envelope around a payload -----------------------------------------------------


class _MutationSchema(Schema):
    id = fields.Integer(required=True, validate=validate.Range(min=1),
                        metadata={"description": "per-device sequential id: 1, 2, 3..."})
    recorded_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "the device's clock when it happened"})


def _mutation(kind: str, payload: type[Schema]) -> type[Schema]:
    """The envelope of one kind (``NoteMutation``...): its ``kind`` tag and its payload schema."""
    name = "".join(word.title() for word in kind.split("_")) + "MutationSchema"
    return type(name, (_MutationSchema,), {
        "__module__": __name__, "__doc__": f"A `{kind}` mutation.",
        "kind": fields.String(required=True, validate=validate.OneOf([kind])),
        "payload": fields.Nested(payload, required=True),
    })


MUTATIONS: dict[str, type[Schema]] = {kind: _mutation(kind, payload) for kind, payload in (
    ("job_transition", JobTransitionPayloadSchema),
    ("checklist_step", ChecklistStepPayloadSchema),
    ("parts_consumed", PartsConsumedPayloadSchema),
    ("note", NotePayloadSchema),
    ("fault_cause", FaultCausePayloadSchema),
)}
MUTATION_KINDS = tuple(MUTATIONS)


class _EnvelopeSchema(Schema):
    """What must hold for the server to know which mutation it is looking at (other members are
    judged with the kind's schema)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40))
    payload = fields.Dict(required=True)
    recorded_at = fields.Raw(load_default=None, allow_none=True)


_ENVELOPE = _EnvelopeSchema()  # built once


class Mutation(TaggedUnion):
    """One pushed mutation. A broken envelope (no id, no kind, a payload that is not an object)
    fails the batch: nothing could say which mutation to skip. Everything else is judged per
    mutation by the service: an unknown kind, a server-owned field or a payload its kind's schema
    refuses (``errors``, by dotted field) rejects that mutation alone and never blocks the device.

    Loads to ``{id, kind, payload (as sent), recorded_at, parsed (typed payload) | errors}``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("kind", MUTATIONS, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        envelope = _ENVELOPE.load(value)
        mutation = {"id": envelope["id"], "kind": envelope["kind"], "payload": envelope["payload"],
                    "recorded_at": None, "parsed": None, "errors": None}
        if envelope["kind"] not in self.variants:
            try:
                mutation["recorded_at"] = fields.AwareDateTime().deserialize(envelope["recorded_at"])
            except ValidationError:
                pass  # the unknown kind is what the device is told about
            return mutation
        try:
            loaded = self.load_variant(envelope["kind"], value)
        except ValidationError as error:
            mutation["errors"] = flatten_messages(error.messages)
            return mutation
        mutation["recorded_at"], mutation["parsed"] = loaded["recorded_at"], loaded["payload"]
        return mutation


class PushSchema(Schema):
    device_id = fields.UUID(required=True)
    app_version = fields.String(load_default=None, validate=validate.Length(max=40))
    sent_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "the device's clock when it sent this batch: the server measures the device's clock "
                       "error from it (`clock_skew_s`). Without it only a `recorded_at` in the server's future "
                       "is flagged; a past one is work done offline"})
    mutations = fields.List(Mutation(), required=True, validate=validate.Length(max=500),
                            metadata={"description": "applied in id order; a mutation whose payload does not fit "
                                                     "its kind is rejected alone (see `results`)"})


class MutationResultSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "applied | duplicate | rejected | conflict"})
    reason = fields.String()
    result = fields.Dict()
    original = fields.Dict(allow_none=True)
    problem = fields.Dict()
    quarantined = fields.Boolean()
    clock_skew_s = fields.Integer(metadata={"description": "the device clock's error in seconds (positive: ahead), "
                                                          "when more than 5 minutes"})
    clock_flagged = fields.Boolean(metadata={"description": "the device's clock is more than 5 minutes off: "
                                                            "check the times it sent"})


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
