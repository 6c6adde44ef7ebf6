"""What every part of the ``Store`` facade may call: one read and one write entry point.

The facade is split by concern into mixins (records in ``api``, search in ``search_api``,
lists and views in ``lists_api``, imports in ``imports_api``) so each stays small; they all
reach the database only through these two methods, which ``Store`` implements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from store._tx import Tx
    from store.models import ChangeSource

__all__ = ["FacadePart"]

T = TypeVar("T")


class FacadePart:
    """Base of the facade's mixins: declares the entry points ``Store`` provides."""

    if TYPE_CHECKING:

        def _write(self, source: ChangeSource, work: Callable[[Tx], T]) -> T: ...

        def _read(self, work: Callable[[Any], T]) -> T: ...
