"""Interfaces the services depend on; adapters live in dispatch/queueing.py and tests."""

from __future__ import annotations

from typing import Any, Protocol


class TaskQueue(Protocol):
    """Runs background tasks (RQ in production, inline without Redis).

    ``task`` is a dotted path into ``workers`` (e.g. ``"workers.routing_tasks.plan_routes"``);
    ``task_id`` makes enqueueing idempotent: the same id is not queued twice while pending.
    ``forget_when_done``: the id is free again as soon as the task has run (its result is not
    kept), so a later enqueue with it queues the task again (a prompt that may recur often).
    """

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default",
                timeout_s: int = 600, forget_when_done: bool = False) -> None: ...

    def depths(self) -> dict[str, int]:
        """Tasks waiting per queue."""
        ...

    def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        """Tasks that failed for good, newest first (id, queue, task, args, error, ended_at)."""
        ...


SESSION_TASK_QUEUE = "dispatch.task_queue"
"""The ``Session.info`` key of the :class:`TaskQueue` that a session's after-commit listeners may
enqueue on (e.g. prompt webhook delivery). Set by the app on its request sessions, and by a worker
on its own, when tasks run on a real queue; absent, nothing is enqueued at commit and the periodic
tasks find the work."""
