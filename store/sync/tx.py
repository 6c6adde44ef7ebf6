"""What a sync does inside one store transaction: CRM writes and its own state together.

``Store.sync_write`` hands a ``SyncTx`` to the engine's work. Records, links, bases, log
rows, conflicts and the cursor it writes commit together or not at all, so a crash between
"wrote the record" and "remembered that it did" cannot happen; CRM writes carry the source
INTEGRATION and the sync's name, which is how the engine recognises its own changes when
they come back through the journal.

Every method takes a batch and costs a fixed number of statements (chunked at 500 keys),
never one per record. Record writes answer per input: a refused input is an error in its
slot and leaves the transaction and the other inputs as they were.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from store.associations import calculated
from store.associations import sql as association_sql
from store.db.catalog import LoadedObject
from store.db.tx import Tx
from store.errors import RecordWriteError
from store.inbox import sql as inbox_sql
from store.models import Association, Record
from store.records import sql as record_sql
from store.sync import conflicts as conflict_sql
from store.sync import intents as intent_sql
from store.sync import links as link_sql
from store.sync import queues as queue_sql
from store.sync import records as synced_record_sql
from store.sync import runs as run_sql
from store.sync import unlinked as unlinked_sql
from store.sync.intents import CreateIntent
from store.sync.models import (
    ConflictRecord,
    ConflictSpec,
    Link,
    LinkWrite,
    LogSpec,
    SyncState,
)

__all__ = ["SyncTx"]


class SyncTx:
    """One sync's view of one write transaction."""

    def __init__(self, tx: Tx, sync: str, run_id: int | None = None) -> None:
        self._tx = tx
        self.sync = sync
        self.run_id = run_id
        # CRM ids this transaction has linked in this sync so far: a record created in it
        # cannot hold a stored link unless it is one of these.
        self._linked: set[int] = set()
        # External id -> CRM id of this sync's links as this transaction read or wrote them:
        # saving one of them unchanged needs no look-up of who holds its CRM record (it does).
        self._known: dict[str, int] = {}

    @property
    def now(self) -> datetime:
        """The transaction's one clock: every row it writes carries this instant."""
        return self._tx.now

    @property
    def _conn(self) -> Connection:
        return self._tx.connection

    def _object(self, name: str) -> LoadedObject:
        return self._tx.object(name)

    # ------------------------------------------------------------ links

    def links_by_external(
        self, external_ids: Sequence[str], *, sync: str | None = None
    ) -> dict[str, Link]:
        """This sync's links, or (``sync``) another's: an association target may be synced
        by another sync of the same connector."""
        found = link_sql.links_by_external(self._conn, sync or self.sync, external_ids)
        if sync is None or sync == self.sync:
            self._known.update((link.external_id, link.crm_id) for link in found.values())
        return found

    def links_by_crm(self, crm_ids: Sequence[int], *, sync: str | None = None) -> dict[int, Link]:
        found = link_sql.links_by_crm(self._conn, sync or self.sync, crm_ids)
        if sync is None or sync == self.sync:
            self._known.update((link.external_id, link.crm_id) for link in found.values())
        return found

    def save_links(self, crm_object: str, links: Sequence[LinkWrite]) -> None:
        """Upsert by external id, replacing the base; ``LinkConflictError`` before any write
        if a CRM record would end up linked to two external records."""
        self._object(crm_object)  # an unknown object is refused, not stored
        known = self._known
        # A link saved as it stands (same external id, same CRM record): its CRM record
        # holds it, and (unique per sync) no other link of this sync.
        unchanged = {link.crm_id for link in links if known.get(link.external_id) == link.crm_id}
        link_sql.save_links(
            self._conn,
            self.sync,
            crm_object,
            links,
            self.now,
            fresh=(self._tx.created - self._linked) | unchanged,
        )
        self._linked.update(link.crm_id for link in links)
        known.update((link.external_id, link.crm_id) for link in links)

    def delete_links(self, external_ids: Sequence[str]) -> None:
        """Unlink; a record parked because one of these links (or the value its CRM record
        held) stood in its way is fetched again by the next pass, not after its back-off."""
        if not external_ids:
            return
        link_sql.delete_links(self._conn, self.sync, external_ids)
        queue_sql.inbound_retry_now(self._conn, self.sync, self.now)
        for external_id in external_ids:
            self._known.pop(external_id, None)

    def remember_unlinked(self, unlinked: Mapping[int, str]) -> None:
        """CRM id -> external id: unlinked because the external record was deleted (rule
        ``ignore``); outbound leaves it alone until it changes in the CRM after now."""
        unlinked_sql.remember_unlinked(self._conn, self.sync, unlinked, self.now)

    def unlinked_at(self, crm_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these records was unlinked by an external delete (absent: never)."""
        return unlinked_sql.unlinked_at(self._conn, self.sync, crm_ids)

    def forget_unlinked(self, crm_ids: Sequence[int]) -> None:
        unlinked_sql.forget_unlinked(self._conn, self.sync, crm_ids)

    def relink(self, from_crm_id: int, to_crm_id: int) -> None:
        """After a merge: the loser's link goes to the winner (``LinkConflictError`` if the
        winner has one of its own in this sync; nothing is changed then)."""
        link_sql.relink(self._conn, self.sync, from_crm_id, to_crm_id, self.now)
        self._linked.add(to_crm_id)
        self._known.clear()

    # ------------------------------------------------------------ records

    def get_records(
        self, object_name: str, ids: Sequence[int], *, include_archived: bool = False
    ) -> dict[int, Record]:
        """Current values, merges not followed (see ``Record.archived`` / ``merged_into``)."""
        return synced_record_sql.read_records_as_stored(
            self._conn, self._object(object_name), ids, include_archived=include_archived
        )

    def find_by_property(
        self, object_name: str, property_name: str, values: Sequence[str]
    ) -> dict[str, Record]:
        return synced_record_sql.find_by_property(
            self._conn,
            self._object(object_name),
            property_name,
            values,
            known=self._tx.unique_known,
        )

    def create_records(
        self, object_name: str, inputs: Sequence[Mapping[str, str | None]]
    ) -> list[Record | RecordWriteError]:
        return record_sql.create_records(
            self._tx, self._object(object_name), inputs, self._tx.source
        )

    def update_records(
        self,
        object_name: str,
        updates: Sequence[tuple[int, Mapping[str, str | None]]],
        *,
        moves_within: bool = False,
    ) -> list[Record | RecordWriteError]:
        """``moves_within``: a unique value one update gives up is free for another."""
        return record_sql.update_records(
            self._tx, self._object(object_name), updates, self._tx.source, moves_within=moves_within
        )

    def archive_records(
        self, object_name: str, ids: Sequence[int]
    ) -> list[Record | RecordWriteError]:
        return record_sql.archive_records(self._tx, self._object(object_name), ids)

    def restore_records(
        self,
        object_name: str,
        ids: Sequence[int],
        changes: Mapping[int, Mapping[str, str | None]] | None = None,
    ) -> list[Record | RecordWriteError]:
        """Un-archive (an external edit that beat the CRM's archive brings the record back),
        with ``changes`` (by record id: the edit) written in the same step, so the unique
        check sees the values the record comes back with."""
        return record_sql.restore_records(
            self._tx, self._object(object_name), ids, changes, self._tx.source
        )

    def purge_records(self, object_name: str, ids: Sequence[int]) -> list[int | RecordWriteError]:
        """Hard delete (record, history, unique values, associations, memberships, links)."""
        self._known.clear()
        return record_sql.purge_records(self._tx, self._object(object_name), ids)

    def changed_at(
        self, object_name: str, ids: Sequence[int], properties: Sequence[str]
    ) -> dict[tuple[int, str], datetime]:
        """When each (record, property) last changed; absent when history never named it."""
        self._object(object_name)
        return synced_record_sql.changed_at(self._conn, ids, properties)

    # ------------------------------------------------------------ associations

    def associations_of(
        self, object_name: str, ids: Sequence[int], to_object: str
    ) -> dict[int, list[Association]]:
        return synced_record_sql.associations_of(
            self._conn, self._object(object_name), ids, self._object(to_object)
        )

    def associate(
        self, from_object: str, from_id: int, to_object: str, to_id: int, label: str | None
    ) -> None:
        """Idempotent: an association already there is left as it is (and not journalled)."""
        a, b = self._object(from_object), self._object(to_object)
        association_sql.associate(self._tx, a, from_id, b, to_id, label)
        # As ``Store.associate`` does: an activity on a contact is on its primary company too.
        if a.schema.activity and b.name == "contacts":
            calculated.link_activity_to_primary_company(self._tx, a, from_id, to_id)
        elif b.schema.activity and a.name == "contacts":
            calculated.link_activity_to_primary_company(self._tx, b, to_id, from_id)

    def dissociate(
        self, from_object: str, from_id: int, to_object: str, to_id: int, label: str | None
    ) -> None:
        """With a label, that label; with None, every association between the two."""
        association_sql.dissociate(
            self._tx, self._object(from_object), from_id, self._object(to_object), to_id, label
        )

    # ------------------------------------------------------------ state, log, conflicts

    def state(self) -> SyncState:
        return run_sql.read_state(self._conn, self.sync)

    def set_cursor(self, cursor: dict[str, Any] | None) -> None:
        run_sql.upsert_state(self._conn, self.sync, self.now, {"cursor": cursor})

    def set_journal_position(self, position: int) -> None:
        run_sql.upsert_state(self._conn, self.sync, self.now, {"journal_position": position})

    def log(self, crm_object: str, entries: Sequence[LogSpec]) -> None:
        run_sql.write_log(self._conn, self.sync, self.run_id, self.now, crm_object, entries)

    def add_conflicts(self, crm_object: str, conflicts: Sequence[ConflictSpec]) -> list[int]:
        """Their ids, in input order."""
        return conflict_sql.add_conflicts(
            self._conn, self.sync, self.run_id, crm_object, conflicts, self.now
        )

    def resolve_conflict(
        self, conflict_id: int, resolution: str, value: str | None
    ) -> ConflictRecord:
        return conflict_sql.resolve_conflict(self._conn, conflict_id, resolution, value, self.now)

    # ------------------------------------------------------------ queues

    def queue_outbound(self, crm_ids: Sequence[int]) -> None:
        """These records must be written outside by this sync's next outbound batch."""
        queue_sql.queue_outbound(self._conn, self.sync, crm_ids, self.now)

    def outbound_done(self, crm_ids: Sequence[int]) -> None:
        queue_sql.outbound_done(self._conn, self.sync, crm_ids)

    def outbound_failed(
        self, crm_id: int, error: str, *, retriable: bool, max_attempts: int = 8
    ) -> None:
        queue_sql.outbound_failed(
            self._conn,
            self.sync,
            crm_id,
            error,
            retriable=retriable,
            now=self.now,
            max_attempts=max_attempts,
        )

    def open_create_intents(self, crm_ids: Sequence[int] | None = None) -> list[CreateIntent]:
        """Creates whose outcome was never committed (all of the sync's, or of ``crm_ids``)."""
        return intent_sql.open_intents(self._conn, self.sync, crm_ids)

    def record_create_intents(
        self, intents: Sequence[tuple[int, str, Mapping[str, Any], tuple[str, Any] | None]]
    ) -> None:
        """``(crm_id, key, fields, match)`` of creates about to go outside."""
        intent_sql.record_intents(self._conn, self.sync, intents, self.now)

    def close_create_intents(self, crm_ids: Sequence[int]) -> None:
        intent_sql.close_intents(self._conn, self.sync, crm_ids)

    def add_pending_association(
        self, crm_id: int, field: str, target_sync: str, target_external_id: str
    ) -> None:
        queue_sql.add_pending_association(
            self._conn, self.sync, crm_id, field, target_sync, target_external_id, self.now
        )

    def take_ready_associations(self) -> list[queue_sql.ReadyAssociation]:
        return queue_sql.take_ready_associations(self._conn, self.sync)

    def record_conflicts(self, crm_object: str, conflicts: Sequence[ConflictSpec]) -> list[int]:
        """Record conflicts once: one identical to an unresolved one is not recorded again
        (a held conflict is seen on every pass until an operator decides), and an open one
        whose values have since changed is superseded by the new one."""
        return self._record_conflicts(crm_object, conflicts)[1]

    def held_values(
        self, crm_ids: Sequence[int], *, side: Literal["crm", "external"] = "external"
    ) -> dict[int, dict[str, str | None]]:
        """The values open (``manual``) conflicts hold on ``side``, by CRM id and field:
        seen by the sync and kept for an operator, so no longer news from that side."""
        held: dict[int, dict[str, str | None]] = {}
        if not crm_ids:
            return held
        for known in conflict_sql.conflicts_for(self._conn, self.sync, crm_ids):
            if known.open:
                value = known.external_value if side == "external" else known.crm_value
                held.setdefault(known.crm_id, {})[known.field] = value
        return held

    def record_new_conflicts(
        self, crm_object: str, conflicts: Sequence[ConflictSpec]
    ) -> list[ConflictSpec]:
        """As ``record_conflicts``; the conflicts that were new (opened, or whose values
        changed): the ones worth a log row, where a held one seen again is not."""
        return self._record_conflicts(crm_object, conflicts)[0]

    def _record_conflicts(
        self, crm_object: str, conflicts: Sequence[ConflictSpec]
    ) -> tuple[list[ConflictSpec], list[int]]:
        known = conflict_sql.conflicts_for(self._conn, self.sync, [c.crm_id for c in conflicts])
        fresh: list[ConflictSpec] = []
        stale: list[int] = []
        for c in conflicts:
            same_field = [k for k in known if (k.crm_id, k.field) == (c.crm_id, c.field)]
            if any(
                (k.crm_value, k.external_value, k.open) == (c.crm_value, c.external_value, c.open)
                for k in same_field
            ):
                continue
            stale.extend(k.id for k in same_field if k.open)
            fresh.append(c)
        if stale:
            conflict_sql.supersede_conflicts(self._conn, stale, self.now)
        return fresh, (self.add_conflicts(crm_object, fresh) if fresh else [])

    def set_fields(self, fields: Sequence[str]) -> None:
        """Remember the fields this pass carried (a field added later is then backfilled)."""
        run_sql.upsert_state(self._conn, self.sync, self.now, {"fields": sorted(fields)})

    # ------------------------------------------------------------ webhook inbox

    def claim_inbox(
        self, limit: int, *, ids: Sequence[int] | None = None
    ) -> list[inbox_sql.InboxEntry]:
        """This sync's pending webhook events, oldest first (``ids``: only those), held until
        the transaction ends; on PostgreSQL rows another worker holds are skipped."""
        return inbox_sql.claim(self._conn, self.sync, limit, ids=ids)

    def finish_inbox(self, ids: Sequence[int]) -> None:
        """Mark events applied: call it in the transaction that applied them, so an event is
        done exactly when its CRM writes are."""
        inbox_sql.finish(self._conn, ids, self.now)

    def fail_inbox(self, entry_id: int, error: str) -> None:
        """Count a failed attempt; after ``inbox_sql.MAX_ATTEMPTS`` the event is set aside."""
        inbox_sql.fail(self._conn, entry_id, error)

    def inbound_failed(
        self, failures: Mapping[str, str], *, retry_later: Collection[str] = ()
    ) -> None:
        """External records this transaction could not apply: parked for an operator;
        those in ``retry_later`` (refused for a reason the CRM can clear) are also fetched
        again by the sync itself after a back-off."""
        queue_sql.inbound_failed(self._conn, self.sync, failures, self.now, retry_later)

    def inbound_done(self, external_ids: Sequence[str]) -> None:
        """These applied: any error parked for them is over."""
        queue_sql.inbound_done(self._conn, self.sync, external_ids)
