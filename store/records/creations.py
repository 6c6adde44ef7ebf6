"""The values a record was created with: written once, in its first history row.

A create used to write its values four times: the record, its history row, its journal
row and, for a sync's create, its sync-log row. The last two were copies of the history
row, and on a first sync of many records they were a fifth of the bytes written and of
the time. They are now stored as JSON null and filled in here from the record's first
history row when read, so every reader sees what it always saw.

The first history row (lowest id) of a record is its create: every create writes one,
history rows are only ever added for the same record, and merges never move them. A
purged record has no history left, and its create reads with no values, as a purge means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, func, select

from store.db import tables as t
from store.db.chunks import chunks

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["as_journal_changes", "as_log_changes", "created_values", "with_created_values"]

Entry = TypeVar("Entry", bound="DataclassInstance")


def created_values(conn: Connection, record_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each record's values as created (its first history row), for those that have one."""
    h = t.property_history
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(record_ids)), 1000):
        first = (
            select(func.min(h.c.id))
            .where(h.c.record_id.in_(chunk))
            .group_by(h.c.record_id)
            .scalar_subquery()
        )
        for record_id, changes in conn.execute(
            select(h.c.record_id, h.c.changes).where(h.c.id.in_(first))
        ):
            found[record_id] = dict(changes or {})
    return found


def with_created_values(
    conn: Connection,
    entries: list[Entry],
    bare_create: Callable[[Entry], int | None],
    shape: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> list[Entry]:
    """``entries`` (frozen dataclasses with ``changes``), those that are creates stored
    without values given the record's values as created, in ``shape``.

    ``bare_create``: the record id of an entry stored without values, else None. An entry
    whose record has no history left (purged) stays without values.
    """
    ids = [bare_create(e) for e in entries]
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return entries
    values = created_values(conn, wanted)
    return [
        e if i is None or i not in values else replace(e, changes=shape(values[i]))
        for e, i in zip(entries, ids, strict=True)
    ]


def as_journal_changes(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A create's changes as the journal reads them: each value from nothing."""
    return {name: [None, value] for name, value in values.items()}


def as_log_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """A create's changes as the sync log reads them, in deepdiff's shape (every value added)."""
    return {"dictionary_item_added": dict(zip(_paths(tuple(values)), values.values(), strict=True))}


@lru_cache(maxsize=256)
def _paths(names: tuple[str, ...]) -> tuple[str, ...]:
    """deepdiff's path of each name (``root['email']``): a sync's records name the same
    properties, so each set is spelled once, not once per value of every record."""
    return tuple(f"root['{name}']" for name in names)
