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

    def hit(self, key: str, window_s: int) -> tuple[int, float]:
        bucket = int(time.time() // window_s)
        name = f"dispatch:rl:{key}:{bucket}"
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

    def check(self, key: str) -> None:
        count, retry_after = self.counter.hit(key, self.window_s)
        if count > self.limit:
            raise TooManyRequests(
                f"more than {self.limit} attempts in {self.window_s} s; try again later",
                retry_after_s=max(1, int(retry_after + 0.999)),
            )
