"""The integrations domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What an endpoint may subscribe to. Names are ``<object>.<what happened>``; never renamed."""

    JOB_CREATED = "job.created"
    JOB_DISPATCHED = "job.dispatched"  # given to a technician (assigned)
    JOB_SCHEDULED = "job.scheduled"
    JOB_STATUS_CHANGED = "job.status_changed"  # every status move, the specific ones included
    JOB_COMPLETED = "job.completed"
    CHECKLIST_COMPLETED = "checklist.completed"
    AUDIT_VERDICT = "audit.verdict"
    STOCK_BELOW_MINIMUM = "stock.below_minimum"
    CLAIM_DECIDED = "claim.decided"
    COMPLAINT_OPENED = "complaint.opened"
    COMPLAINT_ESCALATED = "complaint.escalated"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt (or for an earlier event of its job)
    SUCCEEDED = "succeeded"  # the receiver answered 2xx


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by HQ, or after failing for a day; its pending deliveries wait


class ImportKind(StrEnum):
    """The shapes a file may have (each is a spec in dispatch.integrations.shapes)."""

    UNITS = "units"  # the installed base: units with sale data, buyers and dealers
    CUSTOMERS = "customers"  # customers alone, by phone number
    PARTS = "parts"  # the parts catalogue and its list prices, by SKU
    TECHNICIANS = "technicians"  # technicians and their accounts, by username


class ImportFormat(StrEnum):
    CSV = "csv"  # UTF-8 text (a byte-order mark is fine)
    XLSX = "xlsx"  # an Excel workbook: the first sheet, formulas refused


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every row was tried; refused rows are listed in errors
    FAILED = "failed"  # the file could not be read at all
