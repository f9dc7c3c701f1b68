"""Warranty follows a job's lifecycle: a repair completes only with a fault cause on record."""

from __future__ import annotations

from dispatch.jobs.hooks import JobChange
from dispatch.jobs.models import JobStatus
from dispatch.warranty import causes


def refuse_completion_without_fault_cause(change: JobChange) -> None:
    if change.to_status == JobStatus.COMPLETED:
        causes.ensure_recorded(change.session, change.job)
