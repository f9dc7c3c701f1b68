"""Fixed-window rate limiting with a shared counter (Redis when configured, else per process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dispatch.errors import TooManyRequests


class MemoryCounter:
    """Per-process counter: fine for one process; use Redis with several gunicorn workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, float]] = {}

    def peek(self, key: str, window_s: int) -> tuple[int, float]:
        """The count in the current window, without adding to it."""
        now = time.monotonic()
        with self._lock:
            count, reset_at = self._hits.get(key, (0, now + window_s))
        return (0, float(window_s)) if now >= reset_at else (count, reset_at - now)

    def hit(self, key: str, window_s: int) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            count, reset_at = self._hits.get(key, (0, now + window_s))
            if now >= reset_at:
                count, reset_at = 0, now + window_s
            count += 1
            self._hits[key] = (count, reset_at)
            if len(self._hits) > 100_000:  # bound memory under a flood of distinct keys
                self._hits = {k: v for k, v in self._hits.items() if v[1] > now}
        return count, reset_at - now


class RedisCounter:
    """Counter shared by every process (INCR + EXPIRE in one pipeline)."""

    def __init__(self, redis) -> None:
        self._redis = redis

    @staticmethod
    def _name(key: str, window_s: int) -> str:
        return f"dispatch:rl:{key}:{int(time.time() // window_s)}"

    def peek(self, key: str, window_s: int) -> tuple[int, float]:
        """The count in the current window, without adding to it."""
        return int(self._redis.get(self._name(key, window_s)) or 0), window_s - (time.time() % window_s)

    def hit(self, key: str, window_s: int) -> tuple[int, float]:
        name = self._name(key, window_s)
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window_s + 1)
        count, _ = pipe.execute()
        return int(count), window_s - (time.time() % window_s)


@dataclass
class RateLimiter:
    counter: MemoryCounter | RedisCounter
    limit: int
    window_s: int

    def _refuse(self, retry_after: float, what: str) -> TooManyRequests:
        return TooManyRequests(f"more than {self.limit} {what} in {self.window_s} s; try again later",
                               retry_after_s=max(1, int(retry_after + 0.999)))

    def check(self, key: str) -> None:
        """Count one attempt; 429 once there were more than ``limit`` in the window."""
        count, retry_after = self.counter.hit(key, self.window_s)
        if count > self.limit:
            raise self._refuse(retry_after, "attempts")

    def require_budget(self, key: str) -> None:
        """429 when ``limit`` failures were already counted (:meth:`spend`) in the window."""
        count, retry_after = self.counter.peek(key, self.window_s)
        if count >= self.limit:
            raise self._refuse(retry_after, "failed attempts")

    def spend(self, key: str) -> None:
        """Count one failure against the budget."""
        self.counter.hit(key, self.window_s)
