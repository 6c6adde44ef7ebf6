"""An operator's decision on a conflict: which value both sides should hold.

The chosen value is written to the CRM and the link's base for the field is set to the
external value the conflict recorded; the next pass then sees the CRM as the only side that
changed and carries the value out, through the same path (and log) as any other change.
Taking the external value makes both sides agree at once.
"""

from __future__ import annotations

from typing import Literal

from store import ChangeSource, ConflictRecord, Store, SyncTx
from store.errors import RecordWriteError
from syncd.engine import associations, delete_edit
from syncd.engine.spec import SyncSpec
from syncd.errors import UsageError

__all__ = ["resolve_conflict"]


def resolve_conflict(
    store: Store,
    spec: SyncSpec,
    conflict_id: int,
    *,
    take: Literal["crm", "external"] | None = None,
    value: str | None = None,
    source: ChangeSource | None = None,
) -> ConflictRecord:
    """Settle ``conflict_id`` with one side's value or an explicit ``value``.

    ``source`` is who decided (the CLI passes the operator's): the record's history names
    them as the writer of the chosen value, not the sync.
    """
    if (take is None) == (value is None):
        raise UsageError("give exactly one of --take crm|external or --value V")
    conflict = store.get_conflict(conflict_id)
    if conflict.sync != spec.name:
        raise UsageError(f"conflict {conflict_id} belongs to sync {conflict.sync}, not {spec.name}")
    if take == "crm":
        chosen = conflict.crm_value
    elif take == "external":
        chosen = conflict.external_value
    else:
        chosen = value
    if conflict.field == delete_edit.RECORD_FIELD:
        raise UsageError(
            "a delete-vs-edit conflict was settled by deletes.on_edit and only keeps both"
            " sides; restore or archive the record itself"
        )
    if associations.is_key(conflict.field):
        raise UsageError("association conflicts are resolved by editing the association")

    def work(tx: SyncTx) -> ConflictRecord:
        outcome = tx.update_records(
            conflict.crm_object, [(conflict.crm_id, {conflict.field: chosen})]
        )[0]
        if isinstance(outcome, RecordWriteError):
            raise outcome
        link = tx.links_by_crm([conflict.crm_id]).get(conflict.crm_id)
        if link is not None:
            base = {**link.base, conflict.field: conflict.external_value}
            from store import LinkWrite

            tx.save_links(
                conflict.crm_object,
                [
                    LinkWrite(
                        link.external_id,
                        link.crm_id,
                        base,
                        link.external_updated_at,
                        link.external_version,
                    )
                ],
            )
            if chosen != conflict.external_value:
                tx.queue_outbound([conflict.crm_id])
        resolution = f"take {take}" if take else "value"
        return tx.resolve_conflict(conflict_id, resolution, chosen)

    return store.sync_write(spec.name, work, source=source)
