"""The correction domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class CorrectivePlanStatus(StrEnum):
    OPEN = "open"  # actions waiting for the manager's answers, the deadline not yet passed or re-audited
    REAUDIT = "reaudit"  # the targeted sample is drawn; reviewers give verdicts, HQ decides
    CLOSED = "closed"  # corrected: the re-audit accepted the point's work
    SUSPENDED = "suspended"  # HQ suspended the point's authorisation
    REVOKED = "revoked"  # HQ revoked it and handed its regions to another point


OPEN_STATUSES = (CorrectivePlanStatus.OPEN, CorrectivePlanStatus.REAUDIT)


class CorrectiveOutcome(StrEnum):
    CLOSE = "close"
    EXTEND = "extend"
    SUSPEND = "suspend"
    REVOKE = "revoke"


class CorrectiveActionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Ground(StrEnum):
    """Why the point was flagged when the plan was opened."""

    SCORECARD = "scorecard"  # the audits' scorecard flags it (red band, critical, recent rejection)
    SLA = "sla"  # SLA compliance below the threshold
    COMPLAINTS = "complaints"  # complaints per 100 jobs above the threshold
