"""The task runtime: the app's (inline mode) or one built from the environment in the work horse."""

from __future__ import annotations

from functools import lru_cache

from dispatch import runtime as task_runtime
from dispatch import wiring
from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from dispatch.ports import SESSION_TASK_QUEUE
from dispatch.queueing import RqTaskQueue
from dispatch.uow import UnitOfWork


@lru_cache(maxsize=1)
def _from_env() -> task_runtime.TaskRuntime:
    # Built lazily inside the work horse (after RQ's fork): pooled connections are never shared.
    wiring.install()  # the job-lifecycle hooks and the sync feed, in whatever process runs the task
    settings = Settings.from_env()
    factory = make_session_factory(make_engine(settings.database_url))
    if settings.redis_url:  # a task that writes webhook deliveries enqueues their prompt delivery too
        factory.configure(info={SESSION_TASK_QUEUE: RqTaskQueue(settings.redis_url)})
    return task_runtime.TaskRuntime(settings=settings, uow_factory=lambda: UnitOfWork(factory))


def get_runtime() -> task_runtime.TaskRuntime:
    return task_runtime.current() or _from_env()
