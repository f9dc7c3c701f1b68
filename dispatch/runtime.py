"""What a background task needs to run: settings and a unit-of-work factory.

The inline task queue sets it for the duration of a task so that tasks run inside the app use
the app's database (and, in tests, the test transaction); a real RQ worker builds its own
from the environment (see ``workers.runtime``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from dispatch.config import Settings
from dispatch.uow import UnitOfWork, UowFactory


@dataclass(frozen=True)
class TaskRuntime:
    settings: Settings
    uow_factory: UowFactory

    def uow(self) -> UnitOfWork:
        return self.uow_factory()


_current: contextvars.ContextVar[TaskRuntime | None] = contextvars.ContextVar("task_runtime", default=None)


def current() -> TaskRuntime | None:
    return _current.get()


@contextlib.contextmanager
def use(runtime: TaskRuntime) -> Iterator[TaskRuntime]:
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)
