"""The routing domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReplanStatus(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    DISCARDED = "discarded"
    SUPERSEDED = "superseded"  # the day changed before the manager confirmed


class ReplanKind(StrEnum):
    """What went wrong: the request names its job or technician accordingly."""

    TECHNICIAN_UNAVAILABLE = "technician_unavailable"
    OVERRUN = "overrun"
    NO_SHOW = "no_show"
    EMERGENCY = "emergency"
