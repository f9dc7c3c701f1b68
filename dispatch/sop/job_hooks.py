"""How SOP checklists follow the job lifecycle (listed in dispatch.wiring's hook table).

* scheduled: the job gets its checklist, pinned to the version in force (if a template applies);
* completed: refused while the checklist is incomplete; afterwards the checklist is read-only;
* cancelled: the checklist becomes read-only; a transfer moves the checklist with its job.
"""

from __future__ import annotations

from dispatch.jobs.hooks import JobChange
from dispatch.jobs.models import JobStatus
from dispatch.sop import checklists


def refuse_completion_while_checklist_incomplete(change: JobChange) -> None:
    if change.to_status == JobStatus.COMPLETED:
        checklists.ensure_complete(change.session, change.job)


def keep_checklist_in_step_with_job(change: JobChange) -> None:
    checklists.follow_job(change.session, change.job, to_status=change.to_status, at=change.at, actor=change.actor)
