"""Warranty follows a job's lifecycle: a repair completes only with a fault cause on record, and a
job of a unit under a service contract is billed to the contract."""

from __future__ import annotations

from dispatch.jobs.hooks import JobChange
from dispatch.jobs.models import JobStatus
from dispatch.warranty import causes, contracts


def refuse_completion_without_fault_cause(change: JobChange) -> None:
    if change.to_status == JobStatus.COMPLETED:
        causes.ensure_recorded(change.session, change.job)


def bill_jobs_under_contract(change: JobChange) -> None:
    contracts.follow_job(change.session, change.job, change.to_status)
