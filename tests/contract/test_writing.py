"""The contract's writing half, on every registered connector type's real system.

One result per input, in order, whatever mix of good and bad inputs a batch holds; a create
whose answer was lost is found again or reported, never made twice; a write based on a stale
read is refused where the system has versions (and last-writer-wins where it has none, as
documented); deletes report each id, an id already gone counting as deleted.
"""

from __future__ import annotations

import pytest

from connectors.base import Connector, WriteOutcome, WriteRequest
from tests.contract._helpers import create, holding, update
from tests.contract.peers import ContractPeer


def test_a_batch_gets_one_result_per_input_in_order(
    peer: ContractPeer, connector: Connector
) -> None:
    existing = peer.add("existing@contract.test", "Existing")
    connector.fetch_by_ids(peer.external_object, [existing])  # read it, as the engine would
    bad = peer.fields("refused@contract.test", "Refused") | {"no_such_field": "x"}
    requests = [
        create(peer, "good1@contract.test", "Good1"),
        WriteRequest("contract:refused", None, bad, (peer.email, "refused@contract.test")),
        update(peer, existing, "Updated"),
        update(peer, peer.missing_id(), "Nobody"),
        create(peer, "good2@contract.test", "Good2"),
    ]

    results = connector.write(peer.external_object, requests)

    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.FAILED,
        WriteOutcome.UPDATED,
        WriteOutcome.FAILED,
        WriteOutcome.CREATED,
    ], [r.error for r in results]
    assert results[1].error and results[3].error
    held = peer.held()
    assert held[str(results[0].external_id)] == ("good1@contract.test", "Good1")
    assert held[str(results[4].external_id)] == ("good2@contract.test", "Good2")
    assert held[existing] == ("existing@contract.test", "Updated")
    assert results[2].external_id == existing
    assert len(held) == 3, "the refused create left nothing behind"
    for result, name in ((results[0], "Good1"), (results[2], "Updated"), (results[4], "Good2")):
        if result.record is not None:  # what the system holds after the write, when known
            assert result.record.id == result.external_id
            assert result.record.fields.get(peer.name) == name
            assert result.record.updated_at is None or result.record.updated_at.tzinfo


@pytest.mark.parametrize("match", [True, False], ids=["with-match", "without-match"])
def test_a_create_whose_answer_was_lost_is_found_or_reported_never_made_twice(
    peer: ContractPeer, connector: Connector, match: bool
) -> None:
    """The create happened; its answer never reached the engine (a crash, a dropped line)."""
    request = create(peer, "lost@contract.test", "Lost", match=match)
    connector.write(peer.external_object, [request])  # the answer is lost on the way back
    made = holding(peer, "lost@contract.test")
    assert len(made) == 1

    (check,) = connector.find_created(peer.external_object, [request])

    if check.record is not None:
        assert check.record.id == made[0], "found another record than the one it made"
    elif check.safe:
        (again,) = connector.write(peer.external_object, [request])
        assert again.ok, again.error
        assert again.external_id == made[0], "a create said to be safe made a second record"
    else:
        assert check.reason, "a create that cannot be looked up must say why"
    assert holding(peer, "lost@contract.test") == made


@pytest.mark.parametrize("match", [True, False], ids=["with-match", "without-match"])
def test_a_create_answer_the_system_drops_is_looked_up_not_sent_blindly(
    peer: ContractPeer, connector: Connector, match: bool
) -> None:
    if peer.no_lost_answers:
        pytest.skip(peer.no_lost_answers)
    peer.lose_next_create_answer()

    (result,) = connector.write(
        peer.external_object, [create(peer, "dropped@contract.test", "Dropped", match=match)]
    )

    assert peer.lost_answers_left() == 0, "the system never lost the answer: nothing proven"
    made = holding(peer, "dropped@contract.test")
    assert len(made) == 1, "the create was sent again without looking"
    if result.ok:
        assert result.outcome is WriteOutcome.CREATED
        assert result.external_id == made[0]
    else:
        assert result.maybe_created, "a failed create that may have happened must say so"
        assert result.error


def test_a_write_based_on_a_stale_read(peer: ContractPeer, connector: Connector) -> None:
    record_id = peer.add("stale@contract.test", "Read")
    (read,) = connector.fetch_by_ids(peer.external_object, [record_id])
    peer.edit(record_id, "Outside")

    (result,) = connector.write(peer.external_object, [update(peer, record_id, "Ours")])

    if not peer.versions:
        # No versions to compare: the last writer wins (docs/connectors.md, the contract).
        assert read.version is None
        assert result.outcome is WriteOutcome.UPDATED, result.error
        assert peer.held()[record_id][1] == "Ours"
        return
    assert read.version is not None
    assert result.outcome is WriteOutcome.FAILED and result.retriable, result
    assert peer.held()[record_id][1] == "Outside", "the edit made outside was overwritten"
    (again,) = connector.fetch_by_ids(peer.external_object, [record_id])
    assert again.version not in (None, read.version)
    (retried,) = connector.write(peer.external_object, [update(peer, record_id, "Ours")])
    assert retried.outcome is WriteOutcome.UPDATED, retried.error
    assert peer.held()[record_id][1] == "Ours"


def test_a_delete_at_a_stale_version(peer: ContractPeer, connector: Connector) -> None:
    record_id = peer.add("gone-stale@contract.test", "Read")
    (read,) = connector.fetch_by_ids(peer.external_object, [record_id])
    peer.edit(record_id, "Outside")

    (result,) = connector.delete_versions(peer.external_object, [record_id], [read.version])

    if not peer.versions:
        assert read.version is None
        assert result.outcome is WriteOutcome.DELETED, result.error
        assert record_id not in peer.held()
        return
    assert result.outcome is WriteOutcome.FAILED and result.retriable, result
    assert peer.held()[record_id][1] == "Outside", "a record changed since was deleted"
    (again,) = connector.fetch_by_ids(peer.external_object, [record_id])
    (deleted,) = connector.delete_versions(peer.external_object, [record_id], [again.version])
    assert deleted.outcome is WriteOutcome.DELETED, deleted.error
    assert record_id not in peer.held()


def test_deletes_report_each_id_and_what_is_gone_counts_as_deleted(
    peer: ContractPeer, connector: Connector
) -> None:
    first = peer.add("del1@contract.test", "Del1")
    second = peer.add("del2@contract.test", "Del2")
    kept = peer.add("kept@contract.test", "Kept")
    gone = peer.add("gone@contract.test", "Gone")
    peer.remove(gone)

    results = connector.delete(peer.external_object, [first, gone, second])
    again = connector.delete(peer.external_object, [first])

    assert [r.outcome for r in results] == [WriteOutcome.DELETED] * 3, [r.error for r in results]
    assert [r.outcome for r in again] == [WriteOutcome.DELETED], [r.error for r in again]
    assert list(peer.held()) == [kept]
    assert list(connector.iter_ids(peer.external_object)) == [kept]
    left = connector.fetch_by_ids(peer.external_object, [first, second])
    assert all(r.deleted for r in left), "a deleted record reads as absent or as a tombstone"
