"""Exporting records as CSV or JSON, streamed a page at a time.

CSV: a header of property names (``hs_object_id`` first), one row per record, every cell
formula-guarded (``columns.guard_formula``) so a spreadsheet never runs it; the import
undoes the guard, so an exported file imports back unchanged. JSON: one array of
``{"id": ..., "properties": {...}}``, written element by element.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

from store.csv.columns import RECORD_ID_PROPERTY, guard_formula
from store.errors import NotFoundError
from store.models import Record

if TYPE_CHECKING:
    from store.facade import Store

__all__ = ["FORMATS", "export_properties", "iter_records", "write_csv", "write_json"]

FORMATS = ("csv", "json")
PAGE = 1000


def export_properties(store: Store, object_name: str, wanted: Sequence[str] = ()) -> list[str]:
    """The columns to export: ``hs_object_id`` first, then the named or all live properties."""
    props = store.get_object(object_name).properties
    if wanted:
        unknown = [p for p in wanted if p not in props]
        if unknown:
            raise NotFoundError(
                f"{object_name} has no propert{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(u) for u in unknown)}",
                object=object_name,
            )
        names = list(dict.fromkeys(wanted))
    else:
        names = list(props)
    return [RECORD_ID_PROPERTY, *(n for n in names if n != RECORD_ID_PROPERTY)]


def iter_records(
    store: Store, object_name: str, id_pages: Iterable[list[int]] | None = None
) -> Iterator[Record]:
    """Every live record in id order, or those of ``id_pages`` (pages of ids), page by page."""
    if id_pages is not None:
        for ids in id_pages:
            found = store.get_records(object_name, ids)
            yield from (found[i] for i in ids if i in found)
        return
    after = 0
    while True:
        page = store.list_records(object_name, after=after, limit=PAGE)
        if not page:
            return
        yield from page
        after = page[-1].id


def write_csv(
    handle: IO[str],
    columns: Sequence[str],
    records: Iterable[Record],
    progress: Callable[[int], None] | None = None,
) -> int:
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for record in records:
        writer.writerow([guard_formula(record.properties.get(c, "")) for c in columns])
        count += 1
        if progress is not None and count % PAGE == 0:
            progress(count)
    return count


def write_json(
    handle: IO[str],
    columns: Sequence[str],
    records: Iterable[Record],
    progress: Callable[[int], None] | None = None,
) -> int:
    wanted = [c for c in columns if c != RECORD_ID_PROPERTY]
    handle.write("[")
    count = 0
    for record in records:
        props = {c: record.properties[c] for c in wanted if c in record.properties}
        handle.write(",\n" if count else "\n")
        handle.write(json.dumps({"id": record.id, "properties": props}, ensure_ascii=False))
        count += 1
        if progress is not None and count % PAGE == 0:
            progress(count)
    handle.write("\n]\n" if count else "]\n")
    return count
