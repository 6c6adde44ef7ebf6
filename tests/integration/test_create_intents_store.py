"""Create intents in the store: written down, read back, closed; `errors retry` settles them.

On SQLite and PostgreSQL. An intent left open makes the next pass look before it creates;
an operator's retry of a parked create means "I looked": its intent goes, others stay.
"""

from __future__ import annotations

from store import Store, SyncTx

SYNC = "shop-customers"


def test_intents_round_trip_and_close_per_record(store: Store) -> None:
    store.sync_write(
        SYNC,
        lambda tx: tx.record_create_intents(
            [
                (1, f"{SYNC}:1", {"first_name": "Ann", "n": 3}, None),
                (2, f"{SYNC}:2", {"email": "b@x.io"}, ("email", "b@x.io")),
            ]
        ),
    )
    store.sync_write("other", lambda tx: tx.record_create_intents([(1, "other:1", {}, None)]))

    opened = store.sync_write(SYNC, lambda tx: tx.open_create_intents())
    assert [(i.crm_id, i.key) for i in opened] == [(1, f"{SYNC}:1"), (2, f"{SYNC}:2")]
    assert opened[0].fields == {"first_name": "Ann", "n": 3} and opened[0].match is None
    assert opened[1].match == ("email", "b@x.io")
    assert opened[0].created_at.tzinfo is not None

    store.sync_write(SYNC, lambda tx: tx.close_create_intents([1]))
    left = store.sync_write(SYNC, lambda tx: tx.open_create_intents([1, 2]))
    assert [i.crm_id for i in left] == [2]
    assert len(store.sync_write("other", lambda tx: tx.open_create_intents())) == 1


def test_errors_retry_closes_the_intents_of_the_creates_it_makes_due(store: Store) -> None:
    def setup(tx: SyncTx) -> None:
        tx.record_create_intents([(1, "k1", {"a": "1"}, None), (2, "k2", {"a": "2"}, None)])
        tx.outbound_failed(1, "the create's answer was lost", retriable=False)
        tx.outbound_failed(2, "the create's answer was lost", retriable=False)

    store.sync_write(SYNC, setup)

    assert store.retry_parked(SYNC, crm_id=1) == 1

    left = store.sync_write(SYNC, lambda tx: tx.open_create_intents())
    assert [i.crm_id for i in left] == [2]
    assert [e.crm_id for e in store.outbox(SYNC, parked=True)] == [2]
