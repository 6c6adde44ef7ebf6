"""JSON columns through the store's codec (orjson): what they held before still reads back.

Values cross the store as they did with the json module: unicode as it is, integers of any
size, NaN where the database takes it (SQLite; PostgreSQL's JSONB refuses it, as before), and
rows an older syncd wrote with the json module read back unchanged.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DataError

from store import ChangeSource, SourceType, Store
from store.db.engine import normalise_url
from store.sync.models import LinkWrite
from store.sync.tx import SyncTx
from tests.conftest import API

SYNC = "shop"
_CURSOR = {"after": 2**64 + 1, "below": -(2**63) - 5, "name": "Zoë 😀", "ids": [1, 2.5, None]}


def _write_all(store: Store) -> int:
    """One of each JSON column a sync writes: properties, history, journal, base, cursor, log."""
    source = ChangeSource(SourceType.INTEGRATION, SYNC)
    record = store.create_record(
        "contacts", {"email": "zoe@example.com", "firstname": "Zoë 😀"}, source
    )

    def work(tx: SyncTx) -> None:
        tx.save_links(
            "contacts", [LinkWrite("e1", record.id, {"firstname": "Zoë 😀", "city": None})]
        )
        tx.set_cursor(_CURSOR)

    store.sync_write(SYNC, work)
    return record.id


def _check_all(store: Store, record_id: int) -> None:
    assert store.get_record("contacts", record_id).properties["firstname"] == "Zoë 😀"
    history = store.property_history("contacts", record_id, "firstname")
    assert [h.value for h in history] == ["Zoë 😀"]
    create = store.read_journal()[0]
    assert create.changes is not None and create.changes["firstname"] == [None, "Zoë 😀"]
    link = store.sync_write(SYNC, lambda tx: tx.links_by_external(["e1"]))["e1"]
    assert link.base == {"firstname": "Zoë 😀", "city": None}
    cursor = store.sync_state(SYNC).cursor
    assert cursor == _CURSOR
    assert type(cursor["after"]) is int and type(cursor["below"]) is int


def test_every_json_column_round_trips_unicode_and_large_integers(store: Store) -> None:
    _check_all(store, _write_all(store))


def test_rows_written_by_the_json_module_read_back_unchanged(db_url: str) -> None:
    # A store on a plain engine writes JSON with the json module, as syncd did before orjson.
    older = Store(create_engine(normalise_url(db_url)))
    try:
        record_id = _write_all(older)
    finally:
        older.close()
    with Store.open(db_url, migrate=False) as store:
        _check_all(store, record_id)


def test_nan_stores_where_the_database_takes_it(store: Store) -> None:
    cursor = {"score": math.nan, "top": math.inf}
    if store.dialect == "postgresql":
        with pytest.raises(DataError):  # JSONB has no NaN: the database refuses it, as before
            store.sync_write(SYNC, lambda tx: tx.set_cursor(cursor))
        return
    store.sync_write(SYNC, lambda tx: tx.set_cursor(cursor))
    read = store.sync_state(SYNC).cursor
    assert read is not None and math.isnan(read["score"]) and read["top"] == math.inf


def test_api_writes_keep_their_unicode(store: Store) -> None:
    record = store.create_record(
        "contacts", {"email": "a@example.com", "lastname": "Ørsted \u2603"}, API
    )
    assert store.get_record("contacts", record.id).properties["lastname"] == "Ørsted \u2603"
