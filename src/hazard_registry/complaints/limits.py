"""Fixed-window rate limits for the public complaint desk, counted in this process.

Each worker counts on its own, so N workers allow up to N times the configured rate; that still bounds a
flood, and needs no shared store. Memory is bounded: expired windows are swept when the table grows.
"""

from __future__ import annotations

import math
import threading
import time

from hazard_registry.errors import TooManyRequests

MAX_KEYS = 100_000


def parse_rate(spec: str) -> tuple[int, float]:
    count, _, seconds = spec.partition("/")
    return int(count), float(seconds)


class RateLimiter:
    def __init__(self, clock=time.monotonic) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def hit(self, bucket: str, key: str, spec: str, *, detail: str = "too many requests; wait and retry") -> None:
        """Count one request of ``key`` in ``bucket``; past the limit raise 429 with the seconds to wait."""
        limit, period = parse_rate(spec)
        now = self._clock()
        with self._lock:
            if len(self._windows) > MAX_KEYS:
                self._sweep(now)
            start, count, _ = self._windows.get((bucket, key), (now, 0, period))
            if now - start >= period:
                start, count = now, 0
            count += 1
            self._windows[(bucket, key)] = (start, count, period)
        if count > limit:
            raise TooManyRequests(detail, retry_after=max(1, math.ceil(start + period - now)))

    def blocked(self, bucket: str, key: str, spec: str) -> int | None:
        """Seconds until ``key`` may try again, if it is over the limit now (without counting a request)."""
        limit, period = parse_rate(spec)
        now = self._clock()
        with self._lock:
            start, count, _ = self._windows.get((bucket, key), (now, 0, period))
        if now - start < period and count >= limit:
            return max(1, math.ceil(start + period - now))
        return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _sweep(self, now: float) -> None:
        for k, (start, _count, period) in list(self._windows.items()):
            if now - start >= period:
                del self._windows[k]
