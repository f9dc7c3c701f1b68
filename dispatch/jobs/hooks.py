"""Other domains react to a job's lifecycle inside the same transaction.

The jobs service calls :func:`run_before` before it changes a job's status (a hook may raise a
DispatchError to refuse, e.g. the SOP completion gate) and :func:`run_after` once the change is
flushed (e.g. create the checklist when a job is scheduled, reserve or release parts, queue a
notification, feed the technicians' sync). Hooks take the caller's session and never commit.

The domains write their hooks as plain functions in their ``job_hooks`` modules; the
composition root (:mod:`dispatch.wiring`) lists them in one table and :func:`install` installs it in
every process (the app, the workers, the cron entry, the seeds). Running a change before the
table is installed fails loudly instead of silently skipping the other domains.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dispatch.auth.principal import Principal
    from dispatch.jobs.models import Job, JobStatus

@dataclass(frozen=True)
class JobChange:
    """One status change (or assignment/transfer) of a job, as the hooks see it."""

    session: Session
    job: Job
    from_status: JobStatus | None
    to_status: JobStatus
    actor: Principal
    at: datetime  # server time
    reason: str = ""
    previous_technician_id: uuid.UUID | None = None
    previous_service_point_id: uuid.UUID | None = None
    data: dict[str, Any] | None = None


Hook = Callable[[JobChange], None]
_before: list[Hook] = []
_after: list[Hook] = []
_loaded = False


def install(*, before: Sequence[Hook], after: Sequence[Hook]) -> None:
    """Install the table: ``before`` hooks run before a change (raising refuses it), ``after``
    hooks once it is flushed, each in the order given. Installing again replaces the table."""
    global _before, _after, _loaded
    for hook in (*before, *after):
        if not callable(hook):
            raise TypeError(f"a job-lifecycle hook must be a function, not {hook!r}")
    _before, _after = list(before), list(after)
    _loaded = True


def installed() -> bool:
    return _loaded


def _installed() -> None:
    if not _loaded:
        raise RuntimeError("the job-lifecycle hooks are not installed: the process must call "
                           "dispatch.wiring.install() (the app, the workers and the seeds do)")


def run_before(change: JobChange) -> None:
    _installed()
    for hook in list(_before):
        hook(change)


def run_after(change: JobChange) -> None:
    _installed()
    for hook in list(_after):
        hook(change)
