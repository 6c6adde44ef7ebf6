"""The contract's reading half, on every registered connector type's real system.

Paging ends and reads each record once, also where records share a timestamp across a page
seam; a change made between two pages is read by the end of the next run; a resumed run reads
back its lookback window (a record committed late with an older timestamp is not missed);
reading by ids, by a value and listing ids see exactly what the system holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import Connector, ConnectorError
from tests.contract._helpers import ids_of, name_of, read_run
from tests.contract.peers import ContractPeer


@pytest.mark.parametrize("limit", [1, 3])
def test_paging_reads_every_record_once_and_ends(
    peer: ContractPeer, connector: Connector, limit: int
) -> None:
    made = [peer.add(f"page{n}@contract.test", f"Page{n}") for n in range(7)]

    pages = read_run(connector, peer, None, limit=limit, resume=False)

    read = ids_of(pages)
    assert sorted(read) == sorted(made), "each record read exactly once in one run"
    by_id = {r.id: r for page in pages for r in page.records}
    assert {name_of(peer, by_id[i].fields) for i in made} == {f"Page{n}" for n in range(7)}
    assert all(r.updated_at is None or r.updated_at.tzinfo is not None for r in by_id.values())


def test_records_sharing_a_timestamp_across_page_seams_are_read_once(
    peer: ContractPeer, connector: Connector
) -> None:
    if peer.no_backdating:
        pytest.skip(peer.no_backdating)
    moment = (datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0)
    made = [peer.add(f"tie{n}@contract.test", f"Tie{n}", updated_at=moment) for n in range(5)]
    later = peer.add("after@contract.test", "After")

    pages = read_run(connector, peer, None, limit=2, resume=False)

    assert sorted(ids_of(pages)) == sorted([*made, later])


def test_a_change_between_pages_is_read_by_the_end_of_the_next_run(
    peer: ContractPeer, connector: Connector
) -> None:
    made = [peer.add(f"seam{n}@contract.test", f"Seam{n}") for n in range(6)]
    first = connector.fetch_changes(peer.external_object, None, limit=2, resume=False)
    assert first.has_more and first.records
    changed = first.records[0].id
    peer.edit(changed, "Changed between pages")
    late = peer.add("between@contract.test", "Between")

    rest = read_run(connector, peer, first.cursor, limit=2, resume=False)
    following = read_run(connector, peer, rest[-1].cursor, limit=2, resume=True)

    seen = ids_of([first, *rest, *following])
    assert set(made) | {late} <= set(seen), "a record was lost between pages"
    after_change = [r for page in [*rest, *following] for r in page.records if r.id == changed]
    assert after_change, "the record changed between pages was never read again"
    assert name_of(peer, after_change[-1].fields) == "Changed between pages"


def test_a_resumed_run_reads_what_changed_after_its_cursor(
    peer: ContractPeer, connector: Connector
) -> None:
    kept = peer.add("kept@contract.test", "Kept")
    edited = peer.add("edited@contract.test", "Before")
    done = read_run(connector, peer, None, limit=10, resume=False)
    peer.edit(edited, "After")
    added = peer.add("added@contract.test", "Added")

    pages = read_run(connector, peer, done[-1].cursor, limit=10, resume=True)

    records = {r.id: r for page in pages for r in page.records}
    assert {edited, added} <= set(records)
    assert name_of(peer, records[edited].fields) == "After"
    assert kept in peer.held()


def test_a_resumed_run_reads_back_its_lookback_window(
    peer: ContractPeer, connector: Connector
) -> None:
    if peer.no_backdating:
        pytest.skip(peer.no_backdating)
    peer.add("early@contract.test", "Early")
    done = read_run(connector, peer, None, limit=10, resume=False)
    # Committed now, stamped ten seconds ago (a long transaction): older than the cursor.
    late = peer.add(
        "late@contract.test", "Late", updated_at=datetime.now(UTC) - timedelta(seconds=10)
    )

    pages = read_run(connector, peer, done[-1].cursor, limit=10, resume=True)

    assert late in ids_of(pages), "a record committed late with an older timestamp was missed"


def test_reading_by_ids_by_value_and_every_id(peer: ContractPeer, connector: Connector) -> None:
    first = peer.add("first@contract.test", "First")
    second = peer.add("second@contract.test", "Second")
    missing = peer.missing_id()

    by_ids = connector.fetch_by_ids(peer.external_object, [second, missing, first])
    found = connector.find_by(
        peer.external_object, peer.email, ["first@contract.test", "nobody@contract.test"]
    )
    every = list(connector.iter_ids(peer.external_object))

    assert sorted(r.id for r in by_ids) == sorted([first, second]), "missing ids are absent"
    assert {name_of(peer, r.fields) for r in by_ids} == {"First", "Second"}
    assert list(found) == ["first@contract.test"], "keyed by the value as asked"
    assert found["first@contract.test"].id == first
    assert sorted(every) == sorted([first, second])
    assert len(every) == len(set(every))


def test_an_empty_system_reads_nothing_and_its_cursor_finds_what_comes_next(
    peer: ContractPeer, connector: Connector
) -> None:
    empty = read_run(connector, peer, None, limit=5, resume=False)
    added = peer.add("next@contract.test", "Next")

    pages = read_run(connector, peer, empty[-1].cursor, limit=5, resume=True)

    assert ids_of(empty) == []
    assert ids_of(pages) == [added]
    assert list(connector.iter_ids(peer.external_object)) == [added]


def test_empty_asks_get_empty_answers_and_a_limit_below_one_is_refused(
    peer: ContractPeer, connector: Connector
) -> None:
    record_id = peer.add("only@contract.test", "Only")

    assert connector.fetch_by_ids(peer.external_object, []) == []
    assert [r.id for r in connector.fetch_by_ids(peer.external_object, [record_id] * 2)] == [
        record_id
    ]
    assert connector.find_by(peer.external_object, peer.email, []) == {}
    assert connector.write(peer.external_object, []) == []
    assert connector.delete(peer.external_object, []) == []
    assert connector.find_created(peer.external_object, []) == []
    with pytest.raises(ConnectorError):
        connector.fetch_changes(peer.external_object, None, limit=0, resume=False)
    assert list(peer.held()) == [record_id]
