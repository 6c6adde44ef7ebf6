"""Pacing: a token bucket per connector, a daily call quota, and a Retry-After gate.

All three are thread-safe and take their clock and sleep from the caller, so tests can
prove the pacing with a fake clock instead of by timing real sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connectors.rest.errors import QuotaExhaustedError

__all__ = ["DailyQuota", "NotBefore", "TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """At most ``requests`` calls per ``per_seconds``, with bursts up to ``requests``."""

    def __init__(self, requests: int, per_seconds: float, *, clock: Clock, sleep: Sleep) -> None:
        self._capacity = float(requests)
        self._rate = requests / per_seconds
        self._tokens = float(requests)
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self._rate
            # Sleep outside the lock so other threads can see the bucket meanwhile.
            self._sleep(wait)


class NotBefore:
    """The earliest moment the next request may go out (a 429's ``Retry-After``)."""

    def __init__(self, *, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._at = 0.0
        self._lock = threading.Lock()

    def push(self, seconds: float) -> None:
        with self._lock:
            self._at = max(self._at, self._clock() + seconds)

    def left(self) -> float:
        with self._lock:
            return max(0.0, self._at - self._clock())

    def wait(self) -> None:
        while True:
            with self._lock:
                left = self._at - self._clock()
            if left <= 0:
                return
            self._sleep(left)


class DailyQuota:
    """Calls per UTC day (the day starting at ``reset_utc_hour``), counted in memory.

    ``take`` refuses *before* a call that would exceed the quota, so it is never exceeded
    by this process (other processes sharing the key are not seen).
    """

    def __init__(
        self, calls: int, reset_utc_hour: int, *, now: Callable[[], datetime], connector: str
    ) -> None:
        self._calls = calls
        self._hour = reset_utc_hour
        self._now = now
        self._connector = connector
        self._used = 0
        self._window: datetime | None = None
        self._lock = threading.Lock()

    def _window_start(self, now: datetime) -> datetime:
        start = now.astimezone(UTC).replace(hour=self._hour, minute=0, second=0, microsecond=0)
        if start > now:
            start -= timedelta(days=1)
        return start

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return self._calls - self._used

    def _roll(self) -> datetime:
        start = self._window_start(self._now())
        if start != self._window:
            self._window = start
            self._used = 0
        return start

    def take(self, calls: int = 1, *, reserve: int = 0) -> None:
        """Count ``calls`` now; refuse when fewer than ``calls + reserve`` are left."""
        with self._lock:
            start = self._roll()
            left = self._calls - self._used
            if left < calls + reserve:
                resume_at = start + timedelta(days=1)
                raise QuotaExhaustedError(
                    f"connector {self._connector}: daily quota of {self._calls} calls has "
                    f"{left} left, {calls + reserve} needed; resuming at "
                    f"{resume_at.isoformat()}",
                    resume_at=resume_at,
                    connector=self._connector,
                )
            self._used += calls

    def check(self, calls: int) -> None:
        """Raise unless ``calls`` calls are left, counting none (before a multi-call step)."""
        self.take(0, reserve=calls)
