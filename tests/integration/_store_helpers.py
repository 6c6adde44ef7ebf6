"""Small factories and a before/after snapshot for the store's integration tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from store import AUTOMATIC_PROPERTIES, COUNT_PROPERTIES, Record, Store
from store.db import tables as t
from tests.conftest import API

_serial = itertools.count(1)


def contact(store: Store, email: str | None = None, **props: object) -> Record:
    """A live contact; a fresh email unless one is given (``email=""`` gives none)."""
    values: dict[str, object] = dict(props)
    address = f"person{next(_serial)}@example.com" if email is None else email
    if address:
        values["email"] = address
    return store.create_record("contacts", values, API)


def company(store: Store, domain: str | None = None, **props: object) -> Record:
    values: dict[str, object] = {"name": "Acme", **props}
    values["domain"] = f"company{next(_serial)}.example.com" if domain is None else domain
    return store.create_record("companies", values, API)


def deal(store: Store, name: str = "Big deal", **props: object) -> Record:
    values = {"dealname": name, "dealstage": "appointmentscheduled", **props}
    return store.create_record("deals", values, API)


def activity(
    store: Store,
    kind: str,
    when: str,
    *on: tuple[str, int],
    **props: object,
) -> Record:
    """A logged activity (note, call, email, meeting, task) associated with ``on`` records."""
    return store.create_record(
        kind,
        {"hs_timestamp": when, **props},
        API,
        associations=[(obj, rid, None) for obj, rid in on],
    )


def linked_ids(store: Store, object_name: str, record_id: int, to: str) -> set[int]:
    return {a.to_id for a in store.list_associations(object_name, record_id, to)}


def labels_between(store: Store, object_name: str, record_id: int, to: str, to_id: int) -> set[str]:
    """The labels (``"(default)"`` for the unlabelled type) one record carries towards another."""
    return {
        label.label or "(default)"
        for a in store.list_associations(object_name, record_id, to)
        if a.to_id == to_id
        for label in a.labels
    }


# Every table a record write touches; the catalogue (definitions, labels) is left out.
_DATA_TABLES = (
    t.records,
    t.unique_values,
    t.property_history,
    t.associations,
    t.journal,
    t.journal_head,
)

Snapshot = dict[str, list[dict[str, Any]]]


def snapshot(store: Store) -> Snapshot:
    """Every row of every data table, to show that a refused write stored nothing at all.

    Read straight from the tables (one connection, a few queries) rather than through the
    API: it sees what the API might hide, such as a stray unique claim or history row.
    """
    with store._engine.connect() as conn:
        return {
            table.name: [
                dict(row._mapping)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in _DATA_TABLES
        }


def props_without_automatic(record: Record) -> Mapping[str, str]:
    """The values a writer gave: without those the store keeps (ids, dates, counts)."""
    kept = AUTOMATIC_PROPERTIES | COUNT_PROPERTIES.keys()
    return {k: v for k, v in record.properties.items() if k not in kept}
