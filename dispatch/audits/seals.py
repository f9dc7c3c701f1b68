"""The audit rows the tamper-evident log vouches for: every verdict, and the audit's copy of its
newest verdict (lot decisions and KPIs read that one)."""

from __future__ import annotations

from dispatch.audit_log.seals import SealSpec
from dispatch.audits.models import Audit, AuditVerdict

SEALS = (
    SealSpec(AuditVerdict, ("audit_id", "seq", "kind", "verdict", "findings", "note", "reviewer_id",
                            "supersedes_id", "created_at", "log_seq")),
    SealSpec(Audit, ("verdict", "verdict_at"), expected=lambda: Audit.verdict.is_not(None)),
)
