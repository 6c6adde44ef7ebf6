"""The store reads the console added: log filters and paging back, conflicts by state and
record, records changed per hour, and the session key of an API token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import ConflictSpec, LogAction, LogDirection, LogSpec, Store, SyncTx
from store.errors import StoreError
from tests.conftest import API


def _log(store: Store, sync: str, specs: list[LogSpec]) -> None:
    store.sync_write(sync, lambda tx: tx.log("contacts", specs))


def test_sync_log_filters_by_direction_and_time_and_pages_back(store: Store) -> None:
    record = store.create_record("contacts", {"email": "a@x.io"}, API)
    _log(
        store,
        "s",
        [
            LogSpec(LogDirection.INBOUND, LogAction.UPDATED, crm_id=record.id, external_id=f"i{k}")
            for k in range(5)
        ]
        + [LogSpec(LogDirection.OUTBOUND, LogAction.CREATED, crm_id=record.id, external_id="o")],
    )
    everything = store.sync_log(sync="s", newest=True)
    assert len(everything) == 6
    outbound = store.sync_log(sync="s", direction="outbound")
    assert [e.external_id for e in outbound] == ["o"]
    newest_three = store.sync_log(sync="s", limit=3, newest=True)
    older = store.sync_log(sync="s", limit=3, newest=True, before_id=newest_three[0].id)
    assert [e.id for e in older + newest_three] == [e.id for e in everything]
    at = everything[0].at
    assert store.sync_log(sync="s", until=at) == []
    assert len(store.sync_log(sync="s", since=at, until=at + timedelta(hours=1))) == 6


def test_conflicts_by_state_record_and_page(store: Store) -> None:
    one = store.create_record("contacts", {"email": "a@x.io"}, API)
    two = store.create_record("contacts", {"email": "b@x.io"}, API)
    specs = [
        ConflictSpec(one.id, "e1", "firstname", "manual", base=None, has_base=False,
                     crm_value="a", external_value="b", winner=None, loser_value=None,
                     loser_changed_at=None, open=True, reason="held"),
        ConflictSpec(two.id, "e2", "firstname", "crm_wins", base=None, has_base=False,
                     crm_value="c", external_value="d", winner="crm", loser_value="d",
                     loser_changed_at=None, open=False, reason="rule"),
    ]  # fmt: skip
    store.sync_write("s", lambda tx: tx.add_conflicts("contacts", specs))
    assert [c.crm_id for c in store.list_conflicts(open_only=True)] == [one.id]
    assert [c.crm_id for c in store.list_conflicts(settled_only=True)] == [two.id]
    mine = store.list_conflicts(crm_object="contacts", crm_id=two.id)
    assert [c.external_id for c in mine] == ["e2"]
    newest = store.list_conflicts(limit=1)
    assert [c.crm_id for c in store.list_conflicts(before_id=newest[0].id)] == [one.id]


def test_activity_by_hour_counts_changes_per_direction(store: Store) -> None:
    _log(
        store,
        "s",
        [LogSpec(LogDirection.INBOUND, LogAction.CREATED, external_id=f"i{k}") for k in range(3)]
        + [LogSpec(LogDirection.OUTBOUND, LogAction.UPDATED, external_id="o")]
        + [LogSpec(LogDirection.INBOUND, LogAction.SKIPPED, external_id="skip")],
    )
    now = datetime.now(UTC) + timedelta(seconds=1)
    found = store.activity_by_hour(["s", "quiet"], now)
    assert found["s"]["inbound"][-1] == 3 and sum(found["s"]["inbound"]) == 3
    assert found["s"]["outbound"][-1] == 1
    assert found["quiet"] == {"inbound": [0] * 24, "outbound": [0] * 24}
    overview = store.sync_overview(["s", "quiet"], now, hourly=True)
    assert overview["s"].synced_hourly == found["s"]  # the same counts, in the same read
    assert overview["s"].synced_24h == {"inbound": 3, "outbound": 1}
    assert overview["s"].synced_1h == {"inbound": 3, "outbound": 1}
    plain = store.sync_overview(["s"], now)["s"]
    assert plain.synced_hourly["inbound"] == [0] * 24  # not asked for
    assert (plain.synced_1h, plain.synced_24h) == (
        overview["s"].synced_1h,
        overview["s"].synced_24h,
    )
    assert plain.last_inbound_at == overview["s"].last_inbound_at is not None
    later = store.activity_by_hour(["s"], now + timedelta(hours=2), hours=3)
    assert later["s"]["inbound"] == [3, 0, 0]
    with pytest.raises(StoreError, match="hours"):
        store.activity_by_hour(["s"], now, hours=0)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.activity_by_hour(["s"], now.replace(tzinfo=None))


def test_a_token_session_key_follows_the_token(store: Store) -> None:
    _token, _secret = store.create_api_token("op", ["read"])
    found = store.api_token_session("op")
    assert found is not None and found[0].scopes == ("read",)
    again = store.api_token_session("op")
    assert again is not None and again[1] == found[1]  # the same key every time, any process
    assert store.api_token_session("nobody") is None
    assert store.api_token_session("bad\x00name") is None
    store.revoke_api_token("op")
    assert store.api_token_session("op") is None


def test_a_syncs_create_is_logged_with_its_values_and_an_outbound_one_with_its_own(
    store: Store,
) -> None:
    """An inbound create is logged without values and read with those of the record's
    history row; any other entry (an outbound create, a create logged with values) reads as
    written."""
    record = store.create_record("contacts", {"email": "in@x.io", "firstname": "In"}, API)
    sent = {"dictionary_item_added": {"root['mail']": "out@x.io"}}
    kept = {"dictionary_item_added": {"root['email']": "as-logged@x.io"}}

    def work(tx: SyncTx) -> None:
        tx.log(
            "contacts",
            [
                LogSpec(LogDirection.INBOUND, LogAction.CREATED, record.id, "e-1"),
                LogSpec(LogDirection.OUTBOUND, LogAction.CREATED, record.id, "e-2", sent),
                LogSpec(LogDirection.INBOUND, LogAction.CREATED, record.id, "e-3", kept),
                LogSpec(LogDirection.INBOUND, LogAction.CREATED, 987_654, "e-4"),
            ],
        )

    store.sync_write("shop", work)

    read = {e.external_id: e.changes for e in store.sync_log(sync="shop")}
    assert read == {
        "e-1": {"dictionary_item_added": {"root['email']": "in@x.io", "root['firstname']": "In"}},
        "e-2": sent,
        "e-3": kept,
        "e-4": None,  # no such record (purged): nothing to read the values from
    }
