"""Schemas of HQ spot-checks: lots, audits (review queue and detail), verdicts, disputes,
adjudication, the draw report and point scorecards."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import FastDumpSchema
from dispatch.audits.enums import (
    AuditKind,
    AuditStatus,
    DisputeStatus,
    FindingCode,
    LotStatus,
    VerdictKind,
)
from dispatch.audits.sampling import Band, LotDecision, Verdict
from dispatch.api.schemas.jobs import JobEventFieldsSchema
from dispatch.jobs.enums import JobStatus
from dispatch.network.enums import AuthorisationStatus, JobType

NOTE = validate.Length(max=2000)


# --- input ------------------------------------------------------------------------------------------


class AuditFindingSchema(Schema):
    step_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the SOP step concerned (omit for the checklist as a whole)"})
    code = fields.Enum(FindingCode, by_value=True, required=True)
    note = fields.String(load_default="", validate=NOTE)


class AuditVerdictCreateSchema(Schema):
    verdict = fields.Enum(Verdict, by_value=True, required=True)
    findings = fields.List(fields.Nested(AuditFindingSchema), load_default=list, validate=validate.Length(max=100))
    note = fields.String(load_default="", validate=NOTE)
    supersedes_id = fields.UUID(load_default=None, allow_none=True, metadata={
        "description": "for a correction: the id of the verdict it supersedes (the current one)"})


class AuditDisputeCreateSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AdjudicationCreateSchema(Schema):
    outcome = fields.Enum(DisputeStatus, by_value=True, required=True,
                          validate=validate.OneOf([DisputeStatus.UPHELD, DisputeStatus.AMENDED]),
                          metadata={"description": "upheld: the verdict stands; amended: a new verdict replaces it"})
    verdict = fields.Enum(Verdict, by_value=True, load_default=None, allow_none=True)
    findings = fields.List(fields.Nested(AuditFindingSchema), load_default=list, validate=validate.Length(max=100))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AuditFilterSchema(Schema):
    status = fields.Enum(AuditStatus, by_value=True)
    kind = fields.Enum(AuditKind, by_value=True)
    service_point_id = fields.UUID()
    lot_id = fields.UUID()


class AuditLotFilterSchema(Schema):
    service_point_id = fields.UUID()
    status = fields.Enum(LotStatus, by_value=True)
    week = fields.String(validate=validate.Regexp(r"^\d{4}-W\d{2}$"), metadata={"description": "e.g. 2026-W47"})


DAYS = validate.Range(min=date(2000, 1, 1), max=date(2199, 12, 31))


class ScorecardQuerySchema(Schema):
    date_from = fields.Date(data_key="from", load_default=None, validate=DAYS,
                            metadata={"description": "first local day of the period (default: to - 182 days)"})
    date_to = fields.Date(data_key="to", load_default=None, validate=DAYS,
                          metadata={"description": "last local day (default: today)"})


# --- output -----------------------------------------------------------------------------------------


class AuditFindingRecordSchema(FastDumpSchema):
    step_key = fields.String(allow_none=True)
    code = fields.String(metadata={"description": "missing_evidence, evidence_mismatch, implausible_value, "
                                                  "step_skipped or other"})
    note = fields.String()


class AuditVerdictSchema(FastDumpSchema):
    id = fields.UUID()
    seq = fields.Integer()
    kind = fields.Enum(VerdictKind, by_value=True)
    verdict = fields.Enum(Verdict, by_value=True)
    findings = fields.List(fields.Nested(AuditFindingRecordSchema))
    note = fields.String()
    reviewer_id = fields.UUID()
    supersedes_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    log_seq = fields.Integer(metadata={"description": "its entry in the tamper-evident log"})


class AuditDisputeSchema(FastDumpSchema):
    id = fields.UUID()
    verdict_id = fields.UUID()
    raised_by = fields.UUID()
    reason = fields.String()
    raised_at = fields.DateTime()
    status = fields.Enum(DisputeStatus, by_value=True)
    adjudicator_id = fields.UUID(allow_none=True)
    adjudicated_at = fields.DateTime(allow_none=True)
    resolution = fields.String()
    resulting_verdict_id = fields.UUID(allow_none=True)


class AuditTriggerSchema(FastDumpSchema):
    code = fields.String()
    detail = fields.Dict(keys=fields.String(), values=fields.Raw())


class AuditSchema(FastDumpSchema):
    id = fields.UUID()
    lot_id = fields.UUID()
    week = fields.String(attribute="lot.label")
    checklist_id = fields.UUID()
    service_point_id = fields.UUID()
    job_id = fields.UUID()
    technician_id = fields.UUID(allow_none=True)
    kind = fields.Enum(AuditKind, by_value=True)
    rank = fields.Integer(allow_none=True)
    rank_key = fields.String(allow_none=True)
    triggers = fields.List(fields.Nested(AuditTriggerSchema))
    status = fields.Enum(AuditStatus, by_value=True)
    sampled_at = fields.DateTime()
    verdict = fields.Enum(Verdict, by_value=True, allow_none=True)
    verdict_at = fields.DateTime(allow_none=True)
    dispute_until = fields.DateTime(allow_none=True)
    final_at = fields.DateTime(allow_none=True)
    verdicts = fields.List(fields.Nested(AuditVerdictSchema), metadata={"description": "oldest first; the last is current"})
    dispute = fields.Nested(AuditDisputeSchema, allow_none=True)


class AuditLotSchema(FastDumpSchema):
    id = fields.UUID()
    service_point_id = fields.UUID()
    service_point_code = fields.String(attribute="service_point.code")
    week = fields.String(attribute="label")
    iso_year = fields.Integer()
    iso_week = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    freezes_at = fields.DateTime()
    status = fields.Enum(LotStatus, by_value=True)
    seed_commitment = fields.String(metadata={"description": "SHA-256 of the seed, logged when the lot opened"})
    commitment_log_seq = fields.Integer()
    opened_at = fields.DateTime()
    frozen_at = fields.DateTime(allow_none=True)
    frame_sha256 = fields.String(allow_none=True)
    frame_size = fields.Function(lambda lot: len(lot.frame) if lot.frame is not None else None, allow_none=True,
                                 metadata={"returns": fields.Integer(allow_none=True)})
    frame_log_seq = fields.Integer(allow_none=True)
    inspection_level = fields.String()
    aql = fields.String()
    code_letter = fields.String(allow_none=True)
    plan_letter = fields.String(allow_none=True)
    sample_size = fields.Integer(allow_none=True)
    accept_number = fields.Integer(allow_none=True)
    reject_number = fields.Integer(allow_none=True)
    decision = fields.Enum(LotDecision, by_value=True, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    defects = fields.Integer(allow_none=True)
    critical_found = fields.Boolean()


class RankedCandidateSchema(Schema):
    checklist_id = fields.String()
    key = fields.String(metadata={"description": "HMAC-SHA256(seed, '<lot id>:<checklist id>') in hex"})
    rank = fields.Integer()
    selected = fields.Boolean(metadata={"description": "in the statistical sample"})
    audit_id = fields.UUID(allow_none=True)
    late_sync = fields.Boolean()


class AuditLotDetailSchema(Schema):
    lot = fields.Nested(AuditLotSchema)
    seed = fields.String(allow_none=True, metadata={"description": "hex; revealed when the lot froze"})
    frame = fields.List(fields.String(), attribute="lot.frame", allow_none=True,
                        metadata={"description": "sorted checklist ids; SHA-256 of them joined by '\\n' = frame_sha256"})
    hundred_percent = fields.Function(lambda view: view.plan.hundred_percent if view.plan else None, allow_none=True,
                                      metadata={"returns": fields.Boolean(allow_none=True)})
    derivation = fields.List(fields.Nested(RankedCandidateSchema), allow_none=True,
                             metadata={"description": "every frame item by ascending key; the lowest n are drawn"})
    checks = fields.Dict(keys=fields.String(), values=fields.Boolean(), allow_none=True,
                         metadata={"description": "the server re-derived seed commitment, frame hash and sample"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    method = fields.Constant(
        "key_i = HMAC-SHA256(key=bytes.fromhex(seed), msg='<lot id>:<checklist id>') (lowercase hyphenated UUIDs); "
        "sort by hex key; the sample is the first sample_size items. seed_commitment = SHA-256(bytes.fromhex(seed)); "
        "frame_sha256 = SHA-256('\\n'.join(sorted ids)).")


class AuditJobSchema(Schema):
    id = fields.UUID()
    reference = fields.String()
    type = fields.Enum(JobType, by_value=True)
    status = fields.Enum(JobStatus, by_value=True)
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    service_point_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    duration_minutes = fields.Integer()
    arrived_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    sla_due_at = fields.DateTime(allow_none=True)


class AuditJobEventSchema(JobEventFieldsSchema):
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class EvidenceReviewSchema(Schema):
    attachment_id = fields.UUID(attribute="attachment.id")
    sha256 = fields.String(attribute="attachment.sha256")
    position = fields.Integer()
    media_type = fields.String(attribute="attachment.media_type")
    received_at = fields.DateTime(attribute="attachment.received_at", metadata={"description": "upload, server time"})
    exif_taken_local = fields.String(attribute="attachment.exif_taken_local", allow_none=True)
    exif_offset = fields.String(attribute="attachment.exif_offset", allow_none=True)
    exif_taken_at = fields.DateTime(attribute="attachment.exif_taken_at", allow_none=True)
    gps_lat = fields.Float(attribute="attachment.gps_lat", allow_none=True)
    gps_lon = fields.Float(attribute="attachment.gps_lon", allow_none=True)
    gps_at = fields.DateTime(attribute="attachment.gps_at", allow_none=True)
    camera = fields.String(attribute="attachment.camera", allow_none=True)
    exif_minus_received_s = fields.Integer(allow_none=True,
                                           metadata={"description": "EXIF time minus the step's server receive time"})
    exif_minus_recorded_s = fields.Integer(allow_none=True,
                                           metadata={"description": "EXIF time minus the device time of the step"})
    gps_distance_m = fields.Integer(allow_none=True, metadata={"description": "EXIF position to the job site"})
    gps_far = fields.Boolean()
    exif_time_skewed = fields.Boolean()
    other_jobs = fields.List(fields.String(), metadata={"description": "other jobs carrying the same photo bytes"})


class RevisionReviewSchema(Schema):
    id = fields.UUID(attribute="result.id")
    revision = fields.Integer(attribute="result.revision")
    is_current = fields.Boolean()
    value = fields.Raw(attribute="result.value", allow_none=True)
    status = fields.String(attribute="result.status.value")
    reasons = fields.List(fields.Dict(), attribute="result.reasons")
    recorded_at = fields.DateTime(attribute="result.recorded_at", allow_none=True)
    received_at = fields.DateTime(attribute="result.received_at")
    lat = fields.Float(attribute="result.lat", allow_none=True)
    lon = fields.Float(attribute="result.lon", allow_none=True)
    distance_m = fields.Integer(allow_none=True, metadata={"description": "submission position to the job site"})
    source = fields.String(attribute="result.source")
    technician_id = fields.UUID(attribute="result.technician_id", allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceReviewSchema))


class StepReviewSchema(Schema):
    key = fields.String()
    title = fields.String()
    kind = fields.String()
    required = fields.Boolean()
    status = fields.String()
    revisions = fields.List(fields.Nested(RevisionReviewSchema))


class AuditChecklistSchema(Schema):
    id = fields.UUID(attribute="checklist.id")
    status = fields.String(attribute="checklist.status.value")
    template_code = fields.String()
    template_version = fields.Integer()
    completed_at = fields.DateTime(attribute="checklist.completed_at", allow_none=True)
    result_sha256 = fields.String(attribute="checklist.result_sha256", allow_none=True)
    flagged_steps = fields.List(fields.String(), attribute="checklist.flagged_steps")
    late_sync = fields.Boolean()
    steps = fields.List(fields.Nested(StepReviewSchema))


class AuditDetailSchema(Schema):
    audit = fields.Nested(AuditSchema)
    lot = fields.Nested(AuditLotSchema)
    checklist = fields.Nested(AuditChecklistSchema)
    job = fields.Nested(AuditJobSchema)
    events = fields.List(fields.Nested(AuditJobEventSchema))


class DrawReportSchema(Schema):
    lots_opened = fields.Integer()
    checklists_assigned = fields.Integer()
    late_syncs = fields.Integer()
    lots_frozen = fields.Integer()
    statistical = fields.Integer()
    targeted = fields.Integer()
    verdicts_finalised = fields.Integer()
    lots_decided = fields.Integer()
    ran_at = fields.DateTime()


class ScorecardSchema(Schema):
    service_point_id = fields.UUID(attribute="service_point.id")
    service_point_code = fields.String(attribute="service_point.code")
    service_point_name = fields.String(attribute="service_point.name")
    service_point_status = fields.Enum(AuthorisationStatus, by_value=True, attribute="service_point.status")
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    score = fields.Float(allow_none=True, metadata={
        "description": "100 x (1 - one-sided 95% Wilson upper bound of the defect rate), last 8 decided lots; "
                       "capped at 60 after a critical; null without sampled checklists"})
    band = fields.Enum(Band, by_value=True)
    flagged = fields.Boolean()
    flag_reasons = fields.List(fields.String())
    window_lots = fields.Integer()
    sampled = fields.Integer(metadata={"description": "statistical audits with a final verdict in the window"})
    defects = fields.Integer(metadata={"description": "of those, major, critical or unverifiable"})
    wilson_upper = fields.Float(allow_none=True)
    critical = fields.Boolean()
    lots_accepted = fields.Integer()
    lots_rejected = fields.Integer()
    lots_pending = fields.Integer()
    lots_empty = fields.Integer()
    recent_decisions = fields.List(fields.String(), metadata={"description": "last two decided lots, newest first"})
    verdicts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "final verdicts of statistical audits in the period"})
    targeted_verdicts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                    metadata={"description": "final verdicts of targeted reviews (not scored)"})
    findings_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    sla_jobs = fields.Integer()
    sla_met = fields.Integer()
    sla_missed = fields.Integer()
    sla_compliance = fields.Float(allow_none=True, metadata={"description": "on site by sla_due_at, 0..1"})
