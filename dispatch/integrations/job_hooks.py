"""The job lifecycle as outbound events (listed in :data:`dispatch.wiring.JOB_HOOKS_AFTER`)."""

from __future__ import annotations

from dispatch.integrations import outbox
from dispatch.jobs.hooks import JobChange


def publish_job_events(change: JobChange) -> None:
    """job.created, or job.status_changed plus job.dispatched/scheduled/completed, into the outbox."""
    outbox.publish(change.session, outbox.job_events(change))
