"""The SOP rows the tamper-evident log vouches for: each checklist step result, with its evidence
(attachment ids, the uploaded bytes' SHA-256 and the served copy's, in order)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log.seals import SealSpec
from dispatch.sop.models import Attachment, StepEvidence, StepResult


def _step_evidence(session: Session, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    found: dict[Any, dict[str, Any]] = {i: {"evidence": []} for i in ids}
    for result_id, attachment_id, sha256, stored_sha256 in session.execute(
            select(StepEvidence.result_id, StepEvidence.attachment_id, Attachment.sha256, Attachment.stored_sha256)
            .join(Attachment, Attachment.id == StepEvidence.attachment_id)
            .where(StepEvidence.result_id.in_(ids)).order_by(StepEvidence.result_id, StepEvidence.position)):
        # the uploaded bytes' hash and the served copy's (EXIF stripped): both are the evidence
        found[result_id]["evidence"].append([str(attachment_id), sha256, stored_sha256])
    return found


SEALS = (
    SealSpec(StepResult, ("checklist_id", "step_key", "revision", "value", "status", "reasons", "recorded_at",
                          "received_at", "lat", "lon", "actor_id", "technician_id", "source"),
             extras=_step_evidence, extra_names=("evidence",)),
)
