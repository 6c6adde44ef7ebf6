"""A rolling-window request limit per token, kept in this process's memory.

HubSpot counts each token's requests over a rolling ten seconds and tells the caller where
it stands in ``X-HubSpot-RateLimit-*`` headers; this does the same. The window is exact (the
times of the last ``max`` requests), so a burst cannot slip through at a window boundary as
it can with fixed buckets, and memory is ``max`` timestamps per token that made a request.
Several daemon processes each keep their own count: the limit is per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter"]


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may go on, and what the headers tell the caller."""

    allowed: bool
    limit: int
    remaining: int
    interval_ms: int
    # Seconds until a request would be allowed again (0 when this one was).
    retry_after: int = 0


class RateLimiter:
    """At most ``limit`` requests per key in any ``interval_ms`` milliseconds."""

    def __init__(
        self,
        limit: int,
        interval_ms: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or interval_ms < 1:
            raise ValueError(
                f"a rate limit needs limit >= 1 and interval >= 1 ms, got {limit}/{interval_ms}"
            )
        self.limit = limit
        self.interval_ms = interval_ms
        self._interval = interval_ms / 1000
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def untouched(self) -> RateDecision:
        """What to tell a caller no request was counted for (no valid token yet)."""
        return RateDecision(True, self.limit, self.limit, self.interval_ms)

    def take(self, key: str) -> RateDecision:
        """Count one request for ``key`` if the window has room; refused ones are not counted."""
        with self._lock:
            now = self._clock()
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self._interval:
                seen.popleft()
            if len(seen) >= self.limit:
                wait = seen[0] + self._interval - now
                return RateDecision(False, self.limit, 0, self.interval_ms, max(1, math.ceil(wait)))
            seen.append(now)
            return RateDecision(True, self.limit, self.limit - len(seen), self.interval_ms)
