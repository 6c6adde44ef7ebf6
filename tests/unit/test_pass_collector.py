"""A pass collects garbage less often, and the process's thresholds come back after it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from syncd.engine.collector import PASS_THRESHOLDS, fewer_collections


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_thresholds_are_raised_during_a_pass_and_restored_after_one_that_failed() -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == PASS_THRESHOLDS
        raise RuntimeError("the pass failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_passes_restore_when_the_last_one_ends() -> None:
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def other_pass() -> None:
        with fewer_collections():
            first_in.set()
            second_done.wait(5)
        seen.append(gc.get_threshold())

    thread = threading.Thread(target=other_pass)
    thread.start()
    assert first_in.wait(5)
    with fewer_collections():
        pass
    # This pass ended first: the other one still runs with the pass thresholds.
    assert gc.get_threshold() == PASS_THRESHOLDS
    second_done.set()
    thread.join(5)
    assert seen == [(700, 10, 10)]
