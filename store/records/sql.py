"""Writing records: create, update, upsert, archive, restore and merge, always in batches.

Each operation takes many inputs and issues a fixed number of statements for the whole batch
(validate in Python, one query for unique-value holders, one insert or executemany per table),
so a batch of 500 costs a handful of round trips, not 500. Every write leaves a property
history row and journal rows in the same transaction.

Results are per input, in input order: a ``Record`` or the error that refused that input,
so a caller may choose all-or-nothing (raise ``BatchError``) or write what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update

from store.db import bulk
from store.db import tables as t
from store.db.builtin import AUTOMATIC_PROPERTIES, COUNT_PROPERTIES
from store.db.catalog import LoadedObject
from store.db.chunks import chunks
from store.db.jsoncodec import dumps_texts
from store.db.tx import JournalRow, Tx
from store.errors import DuplicateError, NotFoundError, RecordWriteError, ValidationError
from store.models import ChangeSource, Record, SourceType
from store.values import (
    MAX_VALUE_LENGTH,
    canonical_value,
    format_datetime,
    is_plain_text,
    unique_key,
)

__all__ = [
    "Outcome",
    "archive_records",
    "create_records",
    "is_record_id",
    "lock_records",
    "merge_records",
    "purge_records",
    "read_records",
    "record_from_row",
    "record_not_found",
    "restore_records",
    "update_records",
    "upsert_records",
]

Outcome = Record | RecordWriteError
_UNIQUE_COLUMNS = ("object_type_id", "property_name", "value_key", "record_id")
# A create's journal changes: JSON null, the values being its history row's (creations.py).
_CREATED = dumps_texts(None)
MAX_BATCH = 10_000
_MAX_RECORD_ID = 2**63  # BIGINT

# The statements every API request and sync page runs, built once: SQLAlchemy builds the
# cache key of each new statement object on every execution, which cost more than running
# these reads (0.19 against 0.06 ms each on SQLite). Ids and keys go in expanding parameters.
_OF_OBJECT = t.records.c.object_type_id == bindparam("object_type_id")
_READ = select(t.records).where(t.records.c.id.in_(bindparam("ids", expanding=True)), _OF_OBJECT)
_LOCK_ANY = _READ.with_for_update()
_LOCK_LIVE = _LOCK_ANY.where(t.records.c.archived.is_(False))
_HOLDERS = select(
    t.unique_values.c.property_name, t.unique_values.c.value_key, t.unique_values.c.record_id
).where(
    t.unique_values.c.object_type_id == bindparam("object_type_id"),
    tuple_(t.unique_values.c.property_name, t.unique_values.c.value_key).in_(
        bindparam("keys", expanding=True)
    ),
)


def record_from_row(obj: LoadedObject, row: Mapping[Any, Any]) -> Record:
    """A domain record, with the automatic properties computed from the row's columns."""
    defined = obj.properties
    props = {k: v for k, v in row["properties"].items() if k in defined}
    created = format_datetime(row["created_at"])
    updated = (
        created if row["updated_at"] == row["created_at"] else format_datetime(row["updated_at"])
    )
    automatic = {
        "hs_object_id": str(row["id"]),
        "createdate": created,
        "hs_lastmodifieddate": updated,
        "lastmodifieddate": updated,
    }
    props.update({k: v for k, v in automatic.items() if k in defined})
    for name in COUNT_PROPERTIES:
        if name in defined:
            props.setdefault(name, "0")  # no associations yet
    return Record(
        object=obj.name,
        id=row["id"],
        properties=props,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        archived=row["archived"],
        archived_at=row["archived_at"],
        merged_into=row["merged_into_id"],
    )


def _changes(
    obj: LoadedObject,
    raw: Mapping[str, object],
    current: Mapping[str, str],
    source: ChangeSource,
    plain: frozenset[str] = frozenset(),
) -> dict[str, str | None]:
    """The validated values of one input that differ from what is stored (None = clear).

    ``plain`` (from ``_plain_properties``) names the properties whose text needs no check.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError(obj.name, "*", raw, "properties must be a mapping of name to value")
    if plain and _plain_values(raw):
        # Every value is plain text: for a plain text property each stays as it is, so only
        # the other names (an email, a number: usually one or two) are checked one by one.
        texts = cast(Mapping[str, str], raw)
        unchecked = raw.keys() - plain
        if not unchecked:
            if not current:  # a new record: every (non-empty) value is a change
                return dict(texts)
            return {name: value for name, value in texts.items() if value != current.get(name)}
        # Checked in input order: the first refusal is the one raised.
        others = sorted(unchecked, key=list(raw).index) if len(unchecked) > 1 else unchecked
        calculating = source.type is SourceType.CALCULATED
        merged: dict[str, str | None] = dict(texts)
        for name in others:
            new = _checked(obj, name, raw[name], current.get(name), calculating)
            if new is None and not current:
                del merged[name]  # clearing what a new record does not have: no change
            else:
                merged[name] = new
        if not current:
            return merged
        return {name: value for name, value in merged.items() if value != current.get(name)}
    changes: dict[str, str | None] = {}
    calculating = source.type is SourceType.CALCULATED
    for name, value in raw.items():
        if (
            name in plain
            and type(value) is str
            and value.isascii()
            and 0 < len(value) <= MAX_VALUE_LENGTH
            and "\x00" not in value
        ):
            # What the checks below would conclude for it (``is_plain_value``), inlined:
            # this runs for every value of every record written.
            if value != current.get(name):
                changes[name] = value
            continue
        stored = current.get(name)
        new = _checked(obj, name, value, stored, calculating)
        if new != stored:
            changes[name] = new
    return changes


def _checked(
    obj: LoadedObject, name: object, value: object, stored: str | None, calculating: bool
) -> str | None:
    """One value's canonical form for its property, or the error refusing name or value."""
    if not isinstance(name, str):
        raise ValidationError(obj.name, repr(name), value, "property names are text")
    prop = obj.properties.get(name) or obj.property(name)  # property() raises the NotFoundError
    if name in AUTOMATIC_PROPERTIES or (
        (prop.read_only or prop.field_type == "calculation") and not calculating
    ):
        raise ValidationError(obj.name, name, value, "read-only: the store maintains it")
    return canonical_value(obj.name, prop, value, current=stored)


def _plain_values(raw: Mapping[str, object]) -> bool:
    """``is_plain_value`` for every value of ``raw``, tested on the whole input at once (the
    per-value loop is most of the cost of validating)."""
    if not raw:
        return False
    values = list(raw.values())
    if set(map(type, values)) != {str} or not all(values):
        return False
    texts = cast(list[str], values)  # all exactly str, checked above
    text = "".join(texts)
    return text.isascii() and "\x00" not in text and max(map(len, texts)) <= MAX_VALUE_LENGTH


def _plain_properties(obj: LoadedObject) -> frozenset[str]:
    """Properties a writer may set to any plain text: live, writable, of plain text type."""
    return frozenset(
        name
        for name, prop in obj.properties.items()
        if is_plain_text(prop)
        and name not in AUTOMATIC_PROPERTIES
        and not prop.read_only
        and prop.field_type != "calculation"
    )


def _check_required(obj: LoadedObject, after: Mapping[str, str | None]) -> None:
    for name in obj.schema.required_properties:
        if after.get(name) is None:
            raise ValidationError(obj.name, name, None, "required: every record must have it")


class _UniqueClaims:
    """Unique values an operation wants to hold, checked against the batch and the database."""

    def __init__(self, tx: Tx, obj: LoadedObject) -> None:
        self.tx = tx
        self.obj = obj
        self.unique = {n for n, p in obj.properties.items() if p.unique}
        self.wanted: dict[int, list[tuple[str, str, str]]] = {}  # input index -> claims

    def want(self, index: int, changes: Mapping[str, str | None]) -> None:
        # The few unique names, not the input's many values, are walked; in input order.
        names = sorted(self.unique.intersection(changes), key=list(changes).index)
        claims = [
            (name, unique_key(self.obj.properties[name], value), value)
            for name in names
            if (value := changes[name]) is not None
        ]
        if claims:
            self.wanted[index] = claims

    def conflicts(
        self,
        owner_of: Mapping[int, int | None],
        released: Mapping[tuple[str, str], int] | None = None,
    ) -> dict[int, RecordWriteError]:
        """Input index -> error, for inputs whose values another record (or input) holds.

        ``released`` ((name, key) -> the input whose record gives the value up) makes a
        value free for the batch's other inputs as long as the input giving it up lands:
        one that fails keeps its value, which may fail another in turn, so the check runs
        until no more fail (refusals only ever grow: it ends, and never lets a duplicate
        through)."""
        if not self.wanted:
            return {}
        holders = self._holders()
        errors: dict[int, RecordWriteError] = {}
        while True:
            found = self._check(owner_of, holders, released or {}, errors)
            if found.keys() <= errors.keys():
                return errors
            for index, error in found.items():
                errors.setdefault(index, error)

    def _holders(self) -> dict[tuple[str, str], int]:
        """The record holding each wanted value before the batch (cache, then database)."""
        keys = {(name, key) for claims in self.wanted.values() for name, key, _ in claims}
        holders: dict[tuple[str, str], int] = {}
        known = self.tx.unique_known
        oid = self.obj.id
        unknown: set[tuple[str, str]] = set()
        for name, key in keys:
            if (oid, name, key) not in known:
                unknown.add((name, key))
                continue
            cached = known[(oid, name, key)]
            if cached is not None:
                holders[(name, key)] = cached
        for chunk in chunks(sorted(unknown), 500):
            for name, key, record_id in self.tx.connection.execute(
                _HOLDERS, {"object_type_id": oid, "keys": chunk}
            ):
                holders[(name, key)] = record_id
        return holders

    def _check(
        self,
        owner_of: Mapping[int, int | None],
        holders: Mapping[tuple[str, str], int],
        released: Mapping[tuple[str, str], int],
        failed: Mapping[int, RecordWriteError],
    ) -> dict[int, RecordWriteError]:
        errors: dict[int, RecordWriteError] = {}
        claimed_by: dict[tuple[str, str], int] = {}
        for index in sorted(self.wanted):
            if index in failed:
                continue
            me = owner_of.get(index)
            for name, key, value in self.wanted[index]:
                holder = holders.get((name, key))
                giver = released.get((name, key))
                if giver is not None and giver not in failed and owner_of.get(giver) == holder:
                    holder = None  # its record gives the value up in this batch
                if holder is not None and holder != me:
                    errors[index] = DuplicateError(self.obj.name, name, value, holder)
                    break
                other = claimed_by.get((name, key))
                if other is not None:
                    errors[index] = ValidationError(
                        self.obj.name,
                        name,
                        value,
                        f"the same value is in input {other} of this batch",
                    )
                    break
            else:
                for name, key, _ in self.wanted[index]:
                    claimed_by[(name, key)] = index
        return errors

    def released(
        self, index: int, old: Mapping[str, str], changes: Mapping[str, str | None]
    ) -> list[tuple[str, str]]:
        """The (name, key) pairs input ``index``'s record gives up with ``changes``."""
        kept = {(name, key) for name, key, _ in self.wanted.get(index, ())}
        held = [
            (name, unique_key(self.obj.properties[name], value))
            for name in self.unique.intersection(changes)
            if (value := old.get(name)) is not None
        ]
        return [pair for pair in held if pair not in kept]

    def rows(self, index: int, record_id: int) -> list[tuple[int, str, str, int]]:
        """Its ``unique_values`` rows, in ``_UNIQUE_COLUMNS`` order."""
        return [(self.obj.id, n, k, record_id) for n, k, _ in self.wanted.get(index, ())]


def _check_size(inputs: Sequence[Any]) -> None:
    if len(inputs) > MAX_BATCH:
        raise RecordWriteError(f"a batch holds at most {MAX_BATCH} inputs, got {len(inputs)}")


def _history_row(
    tx: Tx, record_id: int, changes: Mapping[str, str | None], source: ChangeSource
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "changed_at": tx.now,
        "source_type": source.type.value,
        "source_id": source.id,
        "changes": dict(changes),
    }


def create_records(
    tx: Tx,
    obj: LoadedObject,
    inputs: Sequence[Mapping[str, object]],
    source: ChangeSource | None = None,
) -> list[Outcome]:
    _check_size(inputs)
    source = source or tx.source
    outcomes: list[Outcome | None] = [None] * len(inputs)
    claims = _UniqueClaims(tx, obj)
    plain = _plain_properties(obj)
    prepared: dict[int, dict[str, str]] = {}
    for index, raw in enumerate(inputs):
        try:
            changes = _changes(obj, raw, {}, source, plain)
            _check_required(obj, changes)
        except RecordWriteError as exc:
            outcomes[index] = exc
            continue
        if None in changes.values():  # clearing what a new record does not have: nothing
            changes = {k: v for k, v in changes.items() if v is not None}
        prepared[index] = cast(dict[str, str], changes)
        if claims.unique:
            claims.want(index, changes)
    for index, error in claims.conflicts({}).items():
        outcomes[index] = error
        del prepared[index]
    if not prepared:
        return [o for o in outcomes if o is not None]
    conn, now = tx.connection, tx.now
    order = list(prepared)  # input order: inserted in it, conflicts only removed
    # One encoding per record serves its row and its history row (the same values).
    encoded = [(dumps_texts(prepared[i]),) for i in order]
    stamp = bulk.bound(conn, t.records.c.created_at, now)
    ids = bulk.insert_ids(
        conn,
        t.records,
        ["properties"],
        encoded,
        fixed={
            "object_type_id": obj.id,
            "created_at": stamp,
            "updated_at": stamp,
            "archived": bulk.bound(conn, t.records.c.archived, False),
        },
    )
    tx.created.update(ids)
    unique_rows = [r for i, rid in zip(order, ids, strict=True) for r in claims.rows(i, rid)]
    if unique_rows:
        tx.forget_unique()
        bulk.insert_rows(conn, t.unique_values, _UNIQUE_COLUMNS, unique_rows)
    bulk.insert_rows(
        conn,
        t.property_history,
        ("record_id", "changes"),
        [(rid, text) for rid, (text,) in zip(ids, encoded, strict=True)],
        fixed={"changed_at": stamp, "source_type": source.type.value, "source_id": source.id},
    )
    created = _NewRecords(obj, now)
    name, source_type, source_id = obj.name, source.type.value, source.id
    journal: list[JournalRow] = []
    for i, rid in zip(order, ids, strict=True):
        values = prepared[i]
        journal.append(
            (
                name,
                rid,
                "create",
                _CREATED,  # read back from the history row (store.records.creations)
                source_type,
                source_id,
            )
        )
        outcomes[i] = created.record(rid, values)
    tx.journal_many(journal)
    if obj.schema.activity:
        tx.dirty.update(ids)
    return [o for o in outcomes if o is not None]


class _NewRecords:
    """``record_from_row`` for rows this batch just inserted, with what they share (their
    timestamps, the object's automatic properties) worked out once per batch."""

    def __init__(self, obj: LoadedObject, now: Any) -> None:
        self.obj = obj
        self.now = now
        defined = obj.properties
        stamp = format_datetime(now)
        automatic = {
            "hs_object_id": "",
            "createdate": stamp,
            "hs_lastmodifieddate": stamp,
            "lastmodifieddate": stamp,
        }
        self.automatic = {k: v for k, v in automatic.items() if k in defined}
        self.with_id = "hs_object_id" in self.automatic
        self.counts = [name for name in COUNT_PROPERTIES if name in defined]

    def record(self, record_id: int, stored: Mapping[str, str]) -> Record:
        # ``stored`` holds live properties only (``_changes`` refused any other), none of
        # them automatic: so no filtering, and the automatic values cannot collide.
        props = {**stored, **self.automatic}
        if self.with_id:
            props["hs_object_id"] = str(record_id)
        for name in self.counts:
            props.setdefault(name, "0")  # no associations yet
        return Record(
            object=self.obj.name,
            id=record_id,
            properties=props,
            created_at=self.now,
            updated_at=self.now,
            archived=False,
            archived_at=None,
            merged_into=None,
        )


def lock_records(
    tx: Tx, obj: LoadedObject, ids: Sequence[int], *, include_archived: bool = False
) -> dict[int, dict[str, Any]]:
    """The rows of these records, locked for update until the transaction ends."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(sorted({i for i in ids if is_record_id(i)}), 1000):
        query = _LOCK_ANY if include_archived else _LOCK_LIVE
        for row in tx.connection.execute(
            query, {"ids": chunk, "object_type_id": obj.id}
        ).mappings():
            found[row["id"]] = dict(row)
    return found


def is_record_id(value: object) -> bool:
    """Whether ``value`` can be a record id at all (an int the id column can hold).

    Anything else (text, floats, booleans, out-of-range ints) would make the database raise
    its own error instead of the store's "not found".
    """
    return type(value) is int and 0 < value < _MAX_RECORD_ID


def record_not_found(obj: LoadedObject, record_id: object) -> NotFoundError:
    return NotFoundError(f"no {obj.name} record {record_id}", object=obj.name, record_id=record_id)


def update_records(
    tx: Tx,
    obj: LoadedObject,
    updates: Sequence[tuple[int, Mapping[str, object]]],
    source: ChangeSource | None = None,
    *,
    moves_within: bool = False,
) -> list[Outcome]:
    """``moves_within``: a unique value one input gives up is free for another input of
    the same batch (a sync applying what happened outside, where two records swapped or
    handed on an email). Without it every input is checked against the records as they
    were before the batch, as HubSpot's batch API does."""
    _check_size(updates)
    source = source or tx.source
    ids = [record_id for record_id, _ in updates if is_record_id(record_id)]
    rows = lock_records(tx, obj, ids)
    outcomes: list[Outcome | None] = [None] * len(updates)
    claims = _UniqueClaims(tx, obj)
    plain = _plain_properties(obj)
    prepared: dict[int, dict[str, str | None]] = {}
    seen: set[int] = set()
    for index, (record_id, raw) in enumerate(updates):
        row = rows.get(record_id) if is_record_id(record_id) else None
        if row is None:
            outcomes[index] = record_not_found(obj, record_id)
            continue
        if record_id in seen:
            outcomes[index] = ValidationError(
                obj.name, "hs_object_id", record_id, "the record appears twice in this batch"
            )
            continue
        seen.add(record_id)
        try:
            changes = _changes(obj, raw, row["properties"], source, plain)
            _check_required(obj, {**row["properties"], **changes})
        except RecordWriteError as exc:
            outcomes[index] = exc
            continue
        prepared[index] = changes
        claims.want(index, changes)
    owners = {i: updates[i][0] for i in prepared}
    released = (
        {
            pair: index
            for index, changes in prepared.items()
            for pair in claims.released(index, rows[updates[index][0]]["properties"], changes)
        }
        if moves_within
        else None
    )
    for index, error in claims.conflicts(owners, released).items():
        outcomes[index] = error
        del prepared[index]
    changed = [i for i in sorted(prepared) if prepared[i]]
    for index in sorted(prepared):
        if not prepared[index]:
            outcomes[index] = record_from_row(obj, rows[updates[index][0]])
    if changed:
        _write_updates(
            tx, obj, [(updates[i][0], prepared[i]) for i in changed], rows, claims, source, changed
        )
        for i in changed:
            outcomes[i] = record_from_row(obj, rows[updates[i][0]])
    return [o for o in outcomes if o is not None]


def _write_updates(
    tx: Tx,
    obj: LoadedObject,
    changes: list[tuple[int, dict[str, str | None]]],
    rows: dict[int, dict[str, Any]],
    claims: _UniqueClaims,
    source: ChangeSource,
    indexes: list[int],
) -> None:
    """Apply validated changes to locked rows (``rows`` is updated in place)."""
    conn = tx.connection
    released = [
        {"oid": obj.id, "pname": name, "rid": record_id}
        for record_id, change in changes
        for name in change
        if name in claims.unique
    ]
    if released:
        tx.forget_unique()
        uv = t.unique_values
        conn.execute(
            delete(uv).where(
                uv.c.object_type_id == bindparam("oid"),
                uv.c.property_name == bindparam("pname"),
                uv.c.record_id == bindparam("rid"),
            ),
            released,
        )
    claimed = [r for i, (rid, _) in zip(indexes, changes, strict=True) for r in claims.rows(i, rid)]
    if claimed:
        tx.forget_unique()
        bulk.insert_rows(conn, t.unique_values, _UNIQUE_COLUMNS, claimed)
    name, source_type, source_id = obj.name, source.type.value, source.id
    written: list[tuple[int, str]] = []  # (record id, its properties as JSON)
    history: list[tuple[int, str]] = []
    journal: list[JournalRow] = []
    activity = obj.schema.activity
    for record_id, change in changes:
        row = rows[record_id]
        old: dict[str, str] = row["properties"]  # replaced below, never changed: no copy
        new = {**old, **change}
        if None in change.values():
            new = {k: v for k, v in new.items() if v is not None}
        row["properties"] = new
        row["updated_at"] = tx.now
        written.append((record_id, dumps_texts(new)))
        history.append((record_id, dumps_texts(change)))
        journal.append(
            (
                name,
                record_id,
                "update",
                dumps_texts({k: [old.get(k), v] for k, v in change.items()}),
                source_type,
                source_id,
            )
        )
        if activity and "hs_timestamp" in change:
            tx.dirty.add(record_id)
    stamp = bulk.bound(conn, t.records.c.updated_at, tx.now)
    bulk.update_by_id(conn, t.records, ("properties",), written, fixed={"updated_at": stamp})
    bulk.insert_rows(
        conn,
        t.property_history,
        ("record_id", "changes"),
        history,
        fixed={"changed_at": stamp, "source_type": source_type, "source_id": source_id},
    )
    tx.journal_many(journal)


def upsert_records(
    tx: Tx,
    obj: LoadedObject,
    id_property: str,
    inputs: Sequence[tuple[object, Mapping[str, object]]],
    source: ChangeSource | None = None,
) -> list[tuple[Outcome, bool]]:
    """Update the record holding each id value, or create one; ``True`` marks a creation."""
    _check_size(inputs)
    outcomes: list[tuple[Outcome, bool] | None] = [None] * len(inputs)
    to_update: list[tuple[int, int, Mapping[str, object]]] = []
    to_create: list[tuple[int, Mapping[str, object]]] = []
    if id_property == "hs_object_id":
        for index, (id_value, raw) in enumerate(inputs):
            try:
                to_update.append((index, int(str(id_value)), raw))
            except ValueError:
                outcomes[index] = (record_not_found(obj, id_value), False)
    else:
        prop = obj.property(id_property)
        if not prop.unique:
            raise ValidationError(
                obj.name, id_property, None, "upsert needs a unique property (or hs_object_id)"
            )
        keys: dict[int, str] = {}
        seen: dict[str, int] = {}
        for index, (id_value, _raw) in enumerate(inputs):
            try:
                value = canonical_value(obj.name, prop, id_value)
                if value is None:
                    raise ValidationError(obj.name, id_property, id_value, "the id value is empty")
            except RecordWriteError as exc:
                outcomes[index] = (exc, False)
                continue
            key = unique_key(prop, value)
            if key in seen:
                outcomes[index] = (
                    ValidationError(obj.name, id_property, id_value, f"repeats input {seen[key]}"),
                    False,
                )
                continue
            seen[key] = index
            keys[index] = key
        holders = _holders(tx.connection, obj, id_property, list(keys.values()))
        for index, key in keys.items():
            id_value, raw = inputs[index]
            if key in holders:
                to_update.append((index, holders[key], raw))
            else:
                # A non-mapping goes on as it is, for create_records to refuse.
                values = {id_property: id_value, **raw} if isinstance(raw, Mapping) else raw
                to_create.append((index, values))
    updated = update_records(tx, obj, [(rid, raw) for _, rid, raw in to_update], source)
    for (index, _, _), outcome in zip(to_update, updated, strict=True):
        outcomes[index] = (outcome, False)
    created = create_records(tx, obj, [raw for _, raw in to_create], source)
    for (index, _), outcome in zip(to_create, created, strict=True):
        outcomes[index] = (outcome, isinstance(outcome, Record))
    return [o for o in outcomes if o is not None]


def _holders(conn: Connection, obj: LoadedObject, name: str, keys: list[str]) -> dict[str, int]:
    uv = t.unique_values
    found: dict[str, int] = {}
    for chunk in chunks(keys, 1000):
        # Rows, not a mapping: dict.update() would take a Result's keys() for column names.
        for key, record_id in conn.execute(
            select(uv.c.value_key, uv.c.record_id).where(
                uv.c.object_type_id == obj.id,
                uv.c.property_name == name,
                uv.c.value_key.in_(chunk),
            )
        ):
            found[key] = record_id
    return found


def find_by_unique(conn: Connection, obj: LoadedObject, name: str, value: object) -> int:
    """The id of the live record whose unique property ``name`` holds ``value``."""
    prop = obj.property(name)
    if not prop.unique:
        raise ValidationError(obj.name, name, value, "look-ups need a unique property")
    canonical = canonical_value(obj.name, prop, value)
    if canonical is None:
        raise ValidationError(obj.name, name, value, "the id value is empty")
    found = _holders(conn, obj, name, [unique_key(prop, canonical)])
    if not found:
        raise NotFoundError(f"no {obj.name} record with {name} = {canonical!r}", object=obj.name)
    return next(iter(found.values()))


def _associated_ids(conn: Connection, record_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(sorted(set(record_ids)), 1000):
        found.update(
            conn.scalars(
                select(t.associations.c.to_record_id).where(
                    t.associations.c.from_record_id.in_(chunk)
                )
            )
        )
    return found


def archive_records(tx: Tx, obj: LoadedObject, ids: Sequence[int]) -> list[Outcome]:
    """Soft-delete: the records and their associations hide, their unique values free up."""
    _check_size(ids)
    rows = lock_records(tx, obj, ids, include_archived=True)
    outcomes: list[Outcome] = []
    newly: list[int] = []
    for record_id in ids:
        row = rows.get(record_id)
        if row is None:
            outcomes.append(record_not_found(obj, record_id))
            continue
        if not row["archived"] and record_id not in newly:
            newly.append(record_id)
            row.update(archived=True, archived_at=tx.now, updated_at=tx.now)
        outcomes.append(record_from_row(obj, row))
    if newly:
        _set_archived(tx, newly, True)
        tx.forget_unique()
        tx.connection.execute(delete(t.unique_values).where(t.unique_values.c.record_id.in_(newly)))
        for record_id in newly:
            tx.journal(obj.name, record_id, "archive")
        tx.dirty.update(_associated_ids(tx.connection, newly))
    return outcomes


def _set_archived(tx: Tx, ids: list[int], archived: bool, merged_into: int | None = None) -> None:
    for chunk in chunks(ids, 1000):
        tx.connection.execute(
            update(t.records)
            .where(t.records.c.id.in_(chunk))
            .values(
                archived=archived,
                archived_at=tx.now if archived else None,
                updated_at=tx.now,
                merged_into_id=merged_into,
            )
        )


def purge_records(tx: Tx, obj: LoadedObject, ids: Sequence[int]) -> list[int | RecordWriteError]:
    """Hard delete: the record and every trace the store keeps of it, live or archived.

    For a sync that must mirror a deletion (archiving would keep the values). Removed:
    the row, its property history, unique values (free for reuse at once), associations
    both ways, list memberships (logged as removed) and every sync's link to it. The
    journal's ``delete`` row names those links, ``{"links": {sync: external_id}}``, so each
    sync can still propagate the deletion. Records merged into it keep their rows.
    """
    _check_size(ids)
    rows = lock_records(tx, obj, ids, include_archived=True)
    outcomes: list[int | RecordWriteError] = []
    doomed: list[int] = []
    for record_id in ids:
        if record_id not in rows:
            outcomes.append(record_not_found(obj, record_id))
            continue
        if record_id not in doomed:
            doomed.append(record_id)
        outcomes.append(record_id)
    if not doomed:
        return outcomes
    conn = tx.connection
    tx.forget_unique()
    # Counts and last-activity dates of the records it was associated with change.
    tx.dirty.update(_associated_ids(conn, doomed) - set(doomed))
    a, m, sl = t.associations, t.list_memberships, t.sync_links
    links: dict[int, dict[str, str]] = {}
    memberships: list[dict[str, Any]] = []
    for chunk in chunks(sorted(doomed), 500):
        for sync, external_id, crm_id in conn.execute(
            select(sl.c.sync, sl.c.external_id, sl.c.crm_id).where(sl.c.crm_id.in_(chunk))
        ):
            links.setdefault(crm_id, {})[sync] = external_id
        memberships.extend(
            {"list_id": list_id, "record_id": rid, "change": "removed", "at": tx.now}
            for list_id, rid in conn.execute(
                select(m.c.list_id, m.c.record_id).where(m.c.record_id.in_(chunk))
            )
        )
        conn.execute(delete(sl).where(sl.c.crm_id.in_(chunk)))
        conn.execute(delete(m).where(m.c.record_id.in_(chunk)))
        conn.execute(delete(a).where(a.c.from_record_id.in_(chunk) | a.c.to_record_id.in_(chunk)))
        conn.execute(delete(t.unique_values).where(t.unique_values.c.record_id.in_(chunk)))
        conn.execute(delete(t.property_history).where(t.property_history.c.record_id.in_(chunk)))
        conn.execute(delete(t.records).where(t.records.c.id.in_(chunk)))
    if memberships:
        conn.execute(insert(t.list_membership_events), memberships)
    for record_id in doomed:
        tx.journal(obj.name, record_id, "delete", {"links": links.get(record_id, {})})
    return outcomes


def restore_records(
    tx: Tx,
    obj: LoadedObject,
    ids: Sequence[int],
    changes: Mapping[int, Mapping[str, object]] | None = None,
    source: ChangeSource | None = None,
) -> list[Outcome]:
    """Bring archived records back, with their associations, if their unique values are free.

    ``changes`` (by record id) are written with the restore, as one: the unique check sees
    the values the record comes back with, so an edit that moves a unique value away (an
    email changed outside while the record was archived) is not refused on the value it
    gives up, and a record whose new values are refused stays archived as it was, holding
    nothing. A record that is live already gets its changes as an update.
    """
    _check_size(ids)
    source = source or tx.source
    changes = changes or {}
    rows = lock_records(tx, obj, ids, include_archived=True)
    outcomes: list[Outcome | None] = [None] * len(ids)
    claims = _UniqueClaims(tx, obj)
    plain = _plain_properties(obj)
    candidates: dict[int, int] = {}
    edits: dict[int, dict[str, str | None]] = {}  # candidate index -> its validated changes
    live_edits: dict[int, tuple[int, Mapping[str, object]]] = {}
    seen: set[int] = set()
    for index, record_id in enumerate(ids):
        row = rows.get(record_id)
        if row is None:
            outcomes[index] = record_not_found(obj, record_id)
        elif row["merged_into_id"] is not None:
            outcomes[index] = RecordWriteError(
                f"{obj.name} record {record_id} was merged into {row['merged_into_id']} "
                "and cannot be restored",
                object=obj.name,
                record_id=record_id,
            )
        elif record_id in seen or (not row["archived"] and record_id not in changes):
            outcomes[index] = record_from_row(obj, row)  # counted once, or live already
        elif not row["archived"]:
            seen.add(record_id)
            live_edits[index] = (record_id, changes[record_id])
        else:
            seen.add(record_id)
            try:
                edit = _changes(obj, changes.get(record_id, {}), row["properties"], source, plain)
                if edit:
                    _check_required(obj, {**row["properties"], **edit})
            except RecordWriteError as exc:
                outcomes[index] = exc
                continue
            candidates[index] = record_id
            edits[index] = edit
            # An archived record holds no unique value: it claims all it comes back with.
            claims.want(index, {**row["properties"], **edit})
    for index, error in claims.conflicts(candidates).items():
        outcomes[index] = error
        del candidates[index]
    restored = list(candidates.values())
    if restored:
        _set_archived(tx, restored, False)
        for record_id in restored:
            rows[record_id].update(archived=False, archived_at=None, updated_at=tx.now)
            tx.journal(obj.name, record_id, "restore")
        edited = [i for i in candidates if edits[i]]
        plain_rows = [
            r for i, rid in candidates.items() if not edits[i] for r in claims.rows(i, rid)
        ]
        if plain_rows:
            tx.forget_unique()
            bulk.insert_rows(tx.connection, t.unique_values, _UNIQUE_COLUMNS, plain_rows)
        if edited:
            # Claims the edited records' unique values too (they released none: archived).
            _write_updates(
                tx,
                obj,
                [(candidates[i], edits[i]) for i in edited],
                rows,
                claims,
                source,
                edited,
            )
        for index, record_id in candidates.items():
            outcomes[index] = record_from_row(obj, rows[record_id])
        tx.dirty.update(_associated_ids(tx.connection, restored))
    if live_edits:
        updated = update_records(tx, obj, list(live_edits.values()), source)
        for index, outcome in zip(live_edits, updated, strict=True):
            outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def read_records(
    conn: Connection,
    obj: LoadedObject,
    ids: Sequence[int],
    *,
    include_archived: bool = False,
    _hops_left: int = 10,
) -> dict[int, Record]:
    """Records by id; a merged-away id answers with the record it was merged into."""
    found: dict[int, Record] = {}
    wanted = sorted({i for i in ids if is_record_id(i)})
    winner_of: dict[int, int] = {}  # merged-away id -> the id it was merged into
    for chunk in chunks(wanted, 1000):
        for row in conn.execute(_READ, {"ids": chunk, "object_type_id": obj.id}).mappings():
            if row["merged_into_id"] is not None:
                winner_of[row["id"]] = row["merged_into_id"]
            elif include_archived or not row["archived"]:
                found[row["id"]] = record_from_row(obj, row)
    if winner_of and _hops_left > 0:
        winners = read_records(
            conn,
            obj,
            list(set(winner_of.values())),
            include_archived=include_archived,
            _hops_left=_hops_left - 1,
        )
        for loser, winner in winner_of.items():
            if winner in winners:
                found[loser] = winners[winner]
    return found


def merge_records(tx: Tx, obj: LoadedObject, winner_id: int, loser_id: int) -> Record:
    """Merge ``loser`` into ``winner``: winner's values kept, gaps filled from the loser,
    the loser archived, its associations (and so its activities) moved to the winner."""
    if winner_id == loser_id:
        raise ValidationError(
            obj.name, "hs_object_id", loser_id, "a record cannot merge with itself"
        )
    rows = lock_records(tx, obj, [winner_id, loser_id])
    for record_id in (winner_id, loser_id):
        if record_id not in rows:
            raise record_not_found(obj, record_id)
    winner, loser = rows[winner_id], rows[loser_id]
    fill: dict[str, object] = {
        k: v
        for k, v in loser["properties"].items()
        if k not in winner["properties"]
        and k in obj.properties
        and not obj.properties[k].unique
        and not obj.properties[k].read_only
    }
    # The loser's unique values go with it into the archive (the winner keeps its own).
    _set_archived(tx, [loser_id], True, merged_into=winner_id)
    tx.forget_unique()
    tx.connection.execute(delete(t.unique_values).where(t.unique_values.c.record_id == loser_id))
    merge_source = tx.source
    if fill:
        outcome = update_records(tx, obj, [(winner_id, fill)], merge_source)[0]
        if isinstance(outcome, RecordWriteError):
            raise outcome
    moved = _move_associations(tx, loser_id, winner_id)
    tx.journal(obj.name, winner_id, "merge", {"loser_id": loser_id, "moved_associations": moved})
    tx.journal(obj.name, loser_id, "archive", {"merged_into": winner_id})
    tx.dirty.update({winner_id} | _associated_ids(tx.connection, [winner_id]))
    return read_records(tx.connection, obj, [winner_id])[winner_id]


def _primary_company_types(conn: Connection) -> list[tuple[int, int]]:
    """(type id, inverse type id) of each "Primary company" association type."""
    at, ot = t.association_types, t.object_types
    return [
        (type_id, inverse)
        for type_id, inverse in conn.execute(
            select(at.c.type_id, at.c.inverse_type_id)
            .join(ot, ot.c.id == at.c.to_object_type_id)
            .where(at.c.name == "PRIMARY", ot.c.name == "companies")
        )
    ]


def _move_associations(tx: Tx, loser_id: int, winner_id: int) -> int:
    """Point the loser's associations at the winner, both directions, without duplicates."""
    a = t.associations
    conn = tx.connection
    existing = {
        tuple(row)
        for row in conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, a.c.type_id).where(
                (a.c.from_record_id == winner_id) | (a.c.to_record_id == winner_id)
            )
        )
    }
    moving = list(
        conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, a.c.type_id, a.c.created_at).where(
                (a.c.from_record_id == loser_id) | (a.c.to_record_id == loser_id)
            )
        )
    )
    # A record has one primary company: the winner's own stays, the loser's is not moved
    # (its unlabelled association still is).
    kept = {
        type_id: inverse
        for type_id, inverse in _primary_company_types(conn)
        if any(s == winner_id and x == type_id for s, _, x in existing)
    }
    new_rows = []
    for src, dst, type_id, created in moving:
        src2 = winner_id if src == loser_id else src
        dst2 = winner_id if dst == loser_id else dst
        if src2 == dst2 or (src2, dst2, type_id) in existing:
            continue
        if (src == loser_id and type_id in kept) or (dst == loser_id and type_id in kept.values()):
            continue
        existing.add((src2, dst2, type_id))
        new_rows.append(
            {
                "from_record_id": src2,
                "to_record_id": dst2,
                "type_id": type_id,
                "created_at": created,
            }
        )
    conn.execute(delete(a).where((a.c.from_record_id == loser_id) | (a.c.to_record_id == loser_id)))
    if new_rows:
        conn.execute(insert(a), new_rows)
    return len(new_rows)
