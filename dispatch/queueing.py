"""Task queue adapters: RQ when Redis is configured, inline otherwise. Never imports workers."""

from __future__ import annotations

import importlib
import logging
import re
from typing import Any

from dispatch import runtime as task_runtime

log = logging.getLogger(__name__)

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
QUEUES = ("default", "routing", "notifications")


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

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600) -> None:
        self.executed.append((task, args))
        with task_runtime.use(self._runtime):
            try:
                resolve(task)(*args)
            except Exception:  # noqa: BLE001 - recorded by the task's own state; see docstring
                log.exception("inline task %s (%s) failed", task, task_id)


class RqTaskQueue:
    """Enqueues tasks on RQ with the JSON serializer, a deterministic id, timeouts and retries."""

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(redis_url)

    @property
    def connection(self):
        return self._redis

    def queue(self, name: str = "default"):
        from rq import Queue
        from rq.serializers import JSONSerializer

        return Queue(name, connection=self._redis, serializer=JSONSerializer)

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600) -> None:
        from rq import Retry
        from rq.exceptions import DuplicateJobError

        try:
            self.queue(queue).enqueue(
                task,
                *args,
                job_id=_UNSAFE_ID.sub("-", task_id)[:120],
                unique=True,
                job_timeout=timeout_s,
                retry=Retry(max=3, interval=[10, 60, 300]),
                failure_ttl=30 * 24 * 3600,
                result_ttl=3600,
            )
        except DuplicateJobError:
            log.info("task %s already queued or running", task_id)

    def ping(self) -> bool:
        return bool(self._redis.ping())
