"""Other domains react to a job's lifecycle inside the same transaction.

The jobs service calls :func:`run_before` before it changes a job's status (a hook may raise a
DispatchError to refuse, e.g. the SOP completion gate) and :func:`run_after` once the change is
flushed (e.g. create the checklist when a job is scheduled, reserve or release parts, queue a
notification, feed the technicians' sync). Hooks take the caller's session and never commit.

Domains register with the decorators in their ``job_hooks`` module; :data:`HOOK_MODULES` lists
them so that registration does not depend on import order.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dispatch.auth.principal import Principal
    from dispatch.jobs.models import Job, JobStatus

HOOK_MODULES = (
    "dispatch.sop.job_hooks",
    "dispatch.stock.job_hooks",
    "dispatch.warranty.job_hooks",
    "dispatch.routing.job_hooks",
    "dispatch.care.job_hooks",
    "dispatch.sync.job_hooks",
)


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


def before_change(hook: Hook) -> Hook:
    """Register ``hook`` to run before a change; raising refuses the change."""
    _before.append(hook)
    return hook


def after_change(hook: Hook) -> Hook:
    """Register ``hook`` to run after a change, in the same transaction."""
    _after.append(hook)
    return hook


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in HOOK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a missing dependency inside an existing hook module is a real error
    _loaded = True


def run_before(change: JobChange) -> None:
    _load()
    for hook in list(_before):
        hook(change)


def run_after(change: JobChange) -> None:
    _load()
    for hook in list(_after):
        hook(change)
