"""Long id lists cut into pieces a single statement may carry.

Databases bound the parameters of one statement (SQLite's default is 32,766); every concept
that looks up or changes rows by a list of ids goes through this one helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["chunks"]


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``items`` in consecutive pieces of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]
