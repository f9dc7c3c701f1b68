"""Fixed-window rate limiting with a shared counter (Redis when configured, else per process)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dispatch.errors import TooManyRequests
from dispatch.i18n import N_


class MemoryCounter:
    """Per-process counter: fine for one process; use Redis with several gunicorn workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window_s: int) -> tuple[int, float, Callable[[], None]]:
        """Count one in the current window: (the count now, seconds left in the window, a
        function that takes this one back)."""
        now = time.monotonic()
        with self._lock:
            count, reset_at = self._hits.get(key, (0, now + window_s))
            if now >= reset_at:
                count, reset_at = 0, now + window_s
            count += 1
            self._hits[key] = (count, reset_at)
            if len(self._hits) > 100_000:  # bound memory under a flood of distinct keys
                self._hits = {k: v for k, v in self._hits.items() if v[1] > now}

        def take_back() -> None:
            with self._lock:
                current, current_reset = self._hits.get(key, (0, 0.0))
                if current_reset == reset_at and current > 0:  # still the same window
                    self._hits[key] = (current - 1, current_reset)

        return count, reset_at - now, take_back


class RedisCounter:
    """Counter shared by every process (INCR + EXPIRE in one pipeline)."""

    def __init__(self, redis) -> None:
        self._redis = redis

    def hit(self, key: str, window_s: int) -> tuple[int, float, Callable[[], None]]:
        name = f"dispatch:rl:{key}:{int(time.time() // window_s)}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window_s + 1)
        count, _ = pipe.execute()

        def take_back() -> None:
            # The same window's key, whatever the time now (an older window's is never read
            # again); EXPIRE again so that a key that expired meanwhile does not stay forever.
            pipe = self._redis.pipeline()
            pipe.decr(name)
            pipe.expire(name, window_s + 1)
            pipe.execute()

        return int(count), window_s - (time.time() % window_s), take_back


@dataclass
class RateLimiter:
    counter: MemoryCounter | RedisCounter
    limit: int
    window_s: int

    def _refuse(self, retry_after: float, msgid: str) -> TooManyRequests:
        return TooManyRequests(msgid, params={"limit": self.limit, "window_s": self.window_s},
                               retry_after_s=max(1, int(retry_after + 0.999)))

    def check(self, key: str) -> None:
        """Count one attempt; 429 once there were more than ``limit`` in the window."""
        count, retry_after, _ = self.counter.hit(key, self.window_s)
        if count > self.limit:
            raise self._refuse(retry_after, N_("more than {limit} attempts in {window_s} s; try again later"))

    @contextmanager
    def failures(self, key: str, failure: type[BaseException]) -> Iterator[None]:
        """A budget of ``limit`` *failures* (the block raising ``failure``) per window.

        The attempt is counted before the block runs and taken back when it does not fail, so
        at most ``limit`` attempts are failed or still running at any moment: concurrent
        attempts cannot all slip past a check made before the first of them failed."""
        count, retry_after, take_back = self.counter.hit(key, self.window_s)
        if count > self.limit:
            take_back()  # a refused attempt is no failure: the budget refills with the window
            raise self._refuse(retry_after, N_("more than {limit} failed attempts in {window_s} s; try again later"))
        try:
            yield
        except failure:
            raise  # the failure keeps its count
        except BaseException:
            take_back()
            raise
        take_back()
