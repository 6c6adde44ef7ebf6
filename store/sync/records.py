"""CRM records as the sync engine reads them: as stored, by a match property, when changed,
and their associations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    any_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from store.db import tables as t
from store.db.catalog import LoadedObject
from store.db.chunks import chunks
from store.errors import StoreError, ValidationError
from store.models import Association, AssociationLabel, Record
from store.records.sql import is_record_id, record_from_row
from store.search.filters import index_expression
from store.sync.rows import CHUNK
from store.values import unique_key

__all__ = ["associations_of", "changed_at", "find_by_property", "read_records_as_stored"]


def read_records_as_stored(
    conn: Connection, obj: LoadedObject, ids: Sequence[int], *, include_archived: bool = False
) -> dict[int, Record]:
    """Records by id without following merges: a merged-away id answers with itself.

    The engine must see that a linked record was archived or merged (``archived``,
    ``merged_into``) to move or drop its link, where a person wants the winner.
    """
    r = t.records
    found: dict[int, Record] = {}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), CHUNK):
        query = select(r).where(r.c.id.in_(chunk), r.c.object_type_id == obj.id)
        if not include_archived:
            query = query.where(r.c.archived.is_(False))
        for row in conn.execute(query).mappings():
            found[row["id"]] = record_from_row(obj, row)
    return found


def find_by_property(
    conn: Connection,
    obj: LoadedObject,
    name: str,
    values: Sequence[str],
    *,
    known: dict[tuple[int, str, str], int | None] | None = None,
) -> dict[str, Record]:
    """Live records whose property ``name`` holds one of ``values``, keyed by the value asked.

    A unique property matches as the store dedupes (email case-insensitively, domains
    normalised), through ``unique_values``; any other matches exactly, and when several
    records hold the value the oldest (lowest id) answers. ``known`` (the transaction's
    ``Tx.unique_known``) learns who holds each unique key asked, so that creating records
    with those values next needs no second look-up.
    """
    prop = obj.property(name)
    wanted = sorted({v for v in values if v is not None})
    for value in wanted:
        if not isinstance(value, str):
            raise ValidationError(obj.name, name, value, "look-up values are canonical text")
    r = t.records
    found: dict[str, Record] = {}
    if prop.unique:
        asked: dict[str, list[str]] = {}
        for value in wanted:
            asked.setdefault(unique_key(prop, value), []).append(value)
        uv = t.unique_values
        holders: dict[str, int] = {}
        for chunk in chunks(sorted(asked), CHUNK):
            # Archived holders are read too (and skipped below): ``known`` must see every
            # unique_values row, live record or not.
            for row in conn.execute(
                select(r, uv.c.value_key)
                .join(uv, uv.c.record_id == r.c.id)
                .where(
                    uv.c.object_type_id == obj.id,
                    uv.c.property_name == name,
                    _among(conn, uv.c.value_key, chunk),
                )
            ).mappings():
                holders[row["value_key"]] = row["id"]
                if row["archived"]:
                    continue
                record = record_from_row(obj, row)
                for value in asked[row["value_key"]]:
                    found[value] = record
        if known is not None:
            known.update(((obj.id, name, key), holders.get(key)) for key in asked)
        return found
    # The expression migration 0003 indexes for the most searched properties; strings are
    # compared lower-cased by the database on both sides, then exactly here.
    expression: ColumnElement[Any] = literal_column(
        index_expression(conn.dialect.name, prop.type, name)
    )
    folded = prop.type == "string"
    for chunk in chunks(wanted, CHUNK):
        keys = [func.lower(literal(v)) if folded else literal(v) for v in chunk]
        rows = conn.execute(
            select(r)
            .where(
                r.c.object_type_id == obj.id,
                r.c.archived.is_(False),
                r.c.merged_into_id.is_(None),
                expression.in_(keys),
            )
            .order_by(r.c.id)
        ).mappings()
        asked_here = set(chunk)
        for row in rows:
            value = row["properties"].get(name)
            if value in asked_here and value not in found:
                found[value] = record_from_row(obj, row)
    return found


def _among(
    conn: Connection, column: ColumnElement[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``= ANY(array)``: one parameter, not one each.

    A sync page's match look-up asks for 500 values: as 500 placeholders, converting and
    binding them cost more of the page's time than the server's answer.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("among", list(values), type_=ARRAY(String)))
    return column.in_(values)


def changed_at(
    conn: Connection, ids: Sequence[int], properties: Sequence[str]
) -> dict[tuple[int, str], datetime]:
    """When each property of each record last changed, from property history.

    One grouped query per chunk of records: a history row holds every property one write
    changed, so each property's latest time is a max over the rows that name it.
    """
    names = sorted(set(properties))
    if not names:
        return {}
    h = t.property_history
    found: dict[tuple[int, str], datetime] = {}
    wanted = sorted({i for i in ids if is_record_id(i)})
    if conn.dialect.name == "postgresql":
        # ``changes`` is json (text): its keys are read once per row, not parsed per name.
        keys = func.json_object_keys(h.c.changes).table_valued("key").render_derived(name="k")
        for chunk in chunks(wanted, CHUNK):
            for record_id, name, when in conn.execute(
                select(h.c.record_id, keys.c.key, func.max(h.c.changed_at))
                .select_from(h.join(keys, true()))
                .where(h.c.record_id.in_(chunk), keys.c.key.in_(names))
                .group_by(h.c.record_id, keys.c.key)
            ):
                found[(record_id, name)] = when
        return found

    def has(name: str) -> Any:
        if '"' in name:
            raise StoreError(f"property name {name!r} cannot be looked up in history")
        return func.json_type(h.c.changes, literal(f'$."{name}"')).is_not(None)

    columns = [
        func.max(case((has(name), h.c.changed_at))).label(f"p{i}") for i, name in enumerate(names)
    ]
    for chunk in chunks(wanted, CHUNK):
        for row in conn.execute(
            select(h.c.record_id, *columns).where(h.c.record_id.in_(chunk)).group_by(h.c.record_id)
        ):
            for i, name in enumerate(names):
                when = row[i + 1]
                if when is not None:
                    found[(row[0], name)] = when
    return found


def associations_of(
    conn: Connection, obj: LoadedObject, ids: Sequence[int], to: LoadedObject
) -> dict[int, list[Association]]:
    """Each record's associations with live ``to`` records, grouped per other record."""
    a, r, at = t.associations, t.records, t.association_types
    grouped: dict[int, dict[int, list[AssociationLabel]]] = {}
    names = {obj.id: obj.name, to.id: to.name}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), CHUNK):
        for row in conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, at)
            .join(r, r.c.id == a.c.to_record_id)
            .join(at, at.c.type_id == a.c.type_id)
            .where(
                a.c.from_record_id.in_(chunk),
                r.c.object_type_id == to.id,
                r.c.archived.is_(False),
            )
            .order_by(a.c.from_record_id, a.c.to_record_id, a.c.type_id)
        ):
            label = AssociationLabel(
                type_id=row.type_id,
                from_object=names.get(row.from_object_type_id, obj.name),
                to_object=names.get(row.to_object_type_id, to.name),
                label=row.label,
                name=row.name,
                category=row.category,
                inverse_type_id=row.inverse_type_id,
            )
            grouped.setdefault(row.from_record_id, {}).setdefault(row.to_record_id, []).append(
                label
            )
    return {
        from_id: [
            Association(obj.name, from_id, to.name, to_id, tuple(labels))
            for to_id, labels in by_to.items()
        ]
        for from_id, by_to in grouped.items()
    }
