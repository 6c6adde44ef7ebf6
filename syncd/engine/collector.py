"""Fewer garbage collections while a pass runs.

A pass allocates a few container objects per field of every record it reads, maps, plans
and writes; at CPython's default thresholds (700, 10, 10) that starts a young collection
every few records and, every hundred of those, one that walks every object the process
holds (SQLAlchemy's, the catalogue's, the connector's): a tenth of an initial sync's CPU.
A pass makes little cyclic garbage, so during passes the young generation is collected
after 20,000 allocations instead; the thresholds come back when the last running pass
ends (passes of different syncs run in threads of one daemon).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PASS_THRESHOLDS", "fewer_collections"]

PASS_THRESHOLDS = (20_000, 20, 20)

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect less often until the last pass inside such a block ends."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*PASS_THRESHOLDS)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_saved)
