"""The sop domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class VersionStatus(StrEnum):
    DRAFT = "draft"  # editable by HQ admins
    PUBLISHED = "published"  # immutable; the newest published version is the one in force


class ChecklistStatus(StrEnum):
    OPEN = "open"  # steps are being recorded
    COMPLETED = "completed"  # the job completed: read-only
    CANCELLED = "cancelled"  # the job was cancelled: read-only
