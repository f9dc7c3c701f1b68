"""The jobs domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum

# The lifecycle's own enums live with its pure rules (dispatch.jobs.rules).
from dispatch.jobs.rules import JobStatus, Priority, SlaStatus  # noqa: F401


class DispatchReason(StrEnum):
    REGION_CODE = "region_code"  # the caller named the region
    POLYGON = "polygon"  # the location fell inside a district boundary
    NEAREST = "nearest"  # no point covers the region: nearest authorised point within the radius
    TRANSFER = "transfer"  # HQ moved the job to another point


class WarrantyDecision(StrEnum):
    COVERED = "covered"
    CHARGEABLE = "chargeable"


class EventKind(StrEnum):
    CREATED = "created"
    TRANSITION = "transition"
    ASSIGNMENT = "assignment"
    TRANSFER = "transfer"
    NOTE = "note"
