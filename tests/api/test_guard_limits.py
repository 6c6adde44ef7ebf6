"""The per-token rolling-window limit, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.api.guard_limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_rolls() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 10_000, clock=clock)
    assert [limiter.take("a").remaining for _ in range(3)] == [2, 1, 0]
    refused = limiter.take("a")
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 10)
    clock.now += 4
    assert limiter.take("a").retry_after == 6
    # The three leave the window exactly ``interval`` after they were made.
    clock.now += 6
    assert [limiter.take("a").allowed for _ in range(4)] == [True, True, True, False]


def test_keys_are_counted_apart_and_refusals_are_not_counted() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 1000, clock=clock)
    assert limiter.take("a").allowed and limiter.take("a").allowed
    for _ in range(10):
        assert not limiter.take("a").allowed
    assert limiter.take("b").remaining == 1
    clock.now += 1.0
    assert limiter.take("a").remaining == 1


def test_retry_after_is_at_least_one_second() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 100, clock=clock)
    limiter.take("a")
    clock.now += 0.05
    assert limiter.take("a").retry_after == 1


def test_untouched_reports_the_full_allowance() -> None:
    decision = RateLimiter(5, 2000).untouched()
    assert (decision.allowed, decision.limit, decision.remaining, decision.interval_ms) == (
        True,
        5,
        5,
        2000,
    )


@pytest.mark.parametrize(("limit", "interval"), [(0, 1000), (1, 0), (-1, -1)])
def test_a_meaningless_limit_is_refused(limit: int, interval: int) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter(limit, interval)


def test_threads_never_get_more_than_the_limit() -> None:
    limiter = RateLimiter(50, 3_600_000)
    allowed: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(100):
            decision = limiter.take("shared")
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert allowed.count(True) == 50
    assert len(allowed) == 800


@settings(deadline=None)
@given(
    limit=st.integers(1, 20),
    steps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_the_limit(limit: int, steps: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(limit, 1000, clock=clock)
    times: list[float] = []
    for step in steps:
        clock.now += step
        if limiter.take("k").allowed:
            times.append(clock.now)
    for index, start in enumerate(times):
        assert sum(1 for t in times[index:] if t < start + 1.0) <= limit
