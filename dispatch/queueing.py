"""Task queue adapters: RQ when Redis is configured, inline otherwise. Never imports workers."""

from __future__ import annotations

import importlib
import logging
import re
from datetime import UTC, datetime
from typing import Any

from dispatch import runtime as task_runtime
from dispatch.clock import utcnow

log = logging.getLogger(__name__)

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
QUEUES = ("default", "routing", "notifications")
CRON_QUEUE = "cron"
"""The queue of the periodic tasks (workers/cron.py). rq cron enqueues with RQ's default
serializer, so it is served by a plain ``rq worker cron``, not by ``python -m workers``."""


TASKS = frozenset({
    "workers.routing_tasks.plan_routes",
    "workers.care_tasks.generate_maintenance_jobs",
    "workers.care_tasks.deliver_notifications",
    "workers.worklist_tasks.refresh_worklists",
    "workers.warranty_tasks.remind_expiring_contracts",
    "workers.warranty_tasks.run_recall",
    "workers.webhook_tasks.deliver_webhooks",
    "workers.webhook_tasks.deliver_webhooks_for",
    "workers.outbox_tasks.prune_outboxes",
    "workers.import_tasks.run_import",
})
"""Every task a service may enqueue, by its dotted path into ``workers`` (the services name them
in constants, e.g. ``routing.service.PLAN_ROUTES_TASK``). On RQ, enqueueing another name fails
at once, in the request, instead of in a worker later (inline, the task fails and is listed
with the failed tasks); a test checks that each one resolves to a function."""


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: add it to dispatch.queueing.TASKS")
    return task


def resolve(task: str):
    module_name, _, attr = task.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


class InlineTaskQueue:
    """Runs each task in-process, right away (the zero-setup default when REDIS_URL is unset).

    A failing task is logged, not raised: as with a real queue, the request that enqueued it has
    already committed, and the task records its own outcome (e.g. a plan marked failed).
    """

    def __init__(self, runtime: task_runtime.TaskRuntime) -> None:
        self._runtime = runtime
        self.executed: list[tuple[str, tuple[Any, ...]]] = []
        self._failures: list[dict[str, Any]] = []

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600,
                forget_when_done: bool = False) -> None:
        self.executed.append((task, args))
        with task_runtime.use(self._runtime):
            try:
                resolve(task)(*args)
            except Exception as exc:  # noqa: BLE001 - recorded by the task's own state; see docstring
                log.exception("inline task %s (%s) failed", task, task_id)
                self._failures.append({"id": task_id, "queue": queue, "task": task, "args": list(args),
                                       "error": f"{type(exc).__name__}: {exc}", "ended_at": utcnow(),
                                       "retries_left": 0})
                del self._failures[:-100]

    def depths(self) -> dict[str, int]:
        return {name: 0 for name in QUEUES}

    def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(reversed(self._failures))[:limit]


class RqTaskQueue:
    """Enqueues tasks on RQ with the JSON serializer, a deterministic id, timeouts and retries."""

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        # Short socket timeouts: a request that enqueues must not hang on an unreachable Redis.
        self._redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)

    @property
    def connection(self):
        return self._redis

    def queue(self, name: str = "default"):
        from rq import Queue
        from rq.serializers import JSONSerializer

        return Queue(name, connection=self._redis, serializer=JSONSerializer)

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600,
                forget_when_done: bool = False) -> None:
        from rq import Retry
        from rq.exceptions import DuplicateJobError

        check_task(task)
        try:
            self.queue(queue).enqueue(
                task,
                *args,
                job_id=_UNSAFE_ID.sub("-", task_id)[:120],
                unique=True,
                job_timeout=timeout_s,
                retry=Retry(max=3, interval=[10, 60, 300]),
                # A unique id stays taken while RQ keeps the job: a prompt frees it at once when
                # done (and within an hour after a failure), anything else keeps its record.
                failure_ttl=3600 if forget_when_done else 30 * 24 * 3600,
                result_ttl=0 if forget_when_done else 3600,
            )
        except DuplicateJobError:
            log.info("task %s already queued or running", task_id)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def _monitored(self):
        """Every queue a worker serves: the app's (JSON) and the periodic tasks' (RQ's default)."""
        from rq import Queue

        return [self.queue(name) for name in QUEUES] + [Queue(CRON_QUEUE, connection=self._redis)]

    def depths(self) -> dict[str, int]:
        return {queue.name: queue.count for queue in self._monitored()}

    def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        """Failed tasks (newest first) from every queue's FailedJobRegistry."""
        from rq.job import Job

        rows: list[dict[str, Any]] = []
        for queue in self._monitored():
            name = queue.name
            ids = queue.failed_job_registry.get_job_ids()
            for job in Job.fetch_many(ids[-limit:], connection=self._redis, serializer=queue.serializer):
                if job is None:
                    continue
                error = (job.exc_info or "").strip().splitlines()
                rows.append({"id": job.id, "queue": name, "task": job.func_name, "args": list(job.args or ()),
                             "error": error[-1] if error else "", "ended_at": job.ended_at,
                             "retries_left": job.retries_left or 0})
        rows.sort(key=lambda r: r["ended_at"] or datetime.min.replace(tzinfo=UTC), reverse=True)
        return rows[:limit]
