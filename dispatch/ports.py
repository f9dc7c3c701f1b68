"""Interfaces the services depend on; adapters live in dispatch/queueing.py and tests."""

from __future__ import annotations

from typing import Any, Protocol


class TaskQueue(Protocol):
    """Runs background tasks (RQ in production, inline without Redis).

    ``task`` is a dotted path into ``workers`` (e.g. ``"workers.routing_tasks.plan_routes"``);
    ``task_id`` makes enqueueing idempotent: the same id is not queued twice while pending.
    """

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default",
                timeout_s: int = 600) -> None: ...

    def depths(self) -> dict[str, int]:
        """Tasks waiting per queue."""
        ...

    def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        """Tasks that failed for good, newest first (id, queue, task, args, error, ended_at)."""
        ...
