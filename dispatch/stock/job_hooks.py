"""Stock follows the job's lifecycle (in the job change's transaction).

- becoming scheduled (first time, again after a hold, or with another technician): reserve the
  expected parts from the technician's van, else the point; a van reservation left behind by the
  previous technician is released. A shortage never blocks scheduling: it is recorded on the
  job's expected parts with where the part is available (``GET /jobs/{id}/parts``).
- completed, closed, cancelled, or back to dispatched (unscheduled, or moved to another point):
  release whatever is still reserved.
"""

from __future__ import annotations

from dispatch.jobs.hooks import JobChange
from dispatch.jobs.models import JobStatus
from dispatch.stock import job_parts


def keep_reservations_in_step(change: JobChange) -> None:
    if change.to_status == JobStatus.SCHEDULED:
        job_parts.reconcile(change.session, change.actor, change.job)
    elif change.to_status in job_parts.RELEASING:
        job_parts.release_all(change.session, change.actor, change.job,
                              reason=f"job {change.job.reference} {change.to_status.value}")
