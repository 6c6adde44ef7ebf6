"""What every part of the ``Store`` facade may call: one read and one write entry point.

The facade is split by concept into mixins, one ``part.py`` per package (search in
``store.search.part``, lists and views in ``store.lists.part``, ...) so each stays small; they
all reach the database only through these two methods, which ``Store`` (``store.facade``)
implements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Column

    from store.db.catalog import LoadedObject
    from store.db.tx import Tx
    from store.models import AssociationLabel, ChangeSource

__all__ = ["FacadePart"]

T = TypeVar("T")


class FacadePart:
    """Base of the facade's mixins: declares the entry points ``Store`` provides."""

    if TYPE_CHECKING:

        def _write(
            self,
            source: ChangeSource,
            work: Callable[[Tx], T],
            meanwhile: Callable[[], object] | None = None,
        ) -> T: ...

        def _read(self, work: Callable[[Any], T]) -> T: ...

        # The database's dialect name ("sqlite", "postgresql").
        @property
        def dialect(self) -> str: ...

        # One SELECT's first row outside any transaction (``store.db.driver``).
        def _read_row(
            self, sql: str, params: Sequence[Any], columns: Sequence[Column[Any]]
        ) -> tuple[Any, ...] | None: ...

        # Calculated properties of what ``tx`` touched, brought up to date before commit.
        def _refresh_calculated(self, tx: Tx) -> None: ...

        # One association in ``tx``, with the activity rule (``AssociationsPart``).
        def _associate(
            self, tx: Tx, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int, label: str | None
        ) -> AssociationLabel: ...
