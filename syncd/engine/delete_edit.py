"""A delete on one side meets an edit made on the other since the last sync.

"Since the last sync" is against the link: its base (the values both sides agreed on) and,
where the system has one, the external version the base was agreed at (a CardDAV ETag), so
an edit of a part no sync maps (a photo, a note an app keeps in an ``X-`` line) counts too.
The sync's ``deletes.on_edit`` decides: ``keep_edit`` (the default) brings the deleted record
back with the edit, ``delete`` lets the delete go ahead. Either way a conflict row (field
``@record``) keeps both sides: the base, each side's values, who won, and what was lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from conflict import Side
from connectors.base import ExternalRecord
from store import ConflictSpec, Link
from syncd.engine import associations
from syncd.engine.diff import same_value
from syncd.engine.spec import SyncSpec
from syncd.engine.swaps import is_mark

__all__ = ["RECORD_FIELD", "conflict", "crm_edited", "external_edited", "keeps_edit"]

#: The ``field`` of a delete-vs-edit conflict row (no property is named with ``@``).
RECORD_FIELD = "@record"
ARCHIVED = "(archived in the CRM)"
DELETED = "(deleted in the external system)"


def keeps_edit(spec: SyncSpec) -> bool:
    return spec.delete_on_edit == "keep_edit"


def external_edited(
    spec: SyncSpec,
    link: Link,
    record: ExternalRecord,
    values: Mapping[str, str | None],
    held: Mapping[str, str | None] | None = None,
    crm: Mapping[str, str | None] | None = None,
) -> bool:
    """Whether the external record changed since the link's last sync.

    ``values`` are its mapped values; a field the CRM cannot receive says nothing. ``held``
    are the values open conflicts keep for an operator (by field): the value a field was
    last seen with outside, base or not. A field still holding it was seen and kept
    already, and is no edit a later CRM archive missed; one changed since is, also where
    the base has no value to compare with (a first match whose sides differed: the base
    agrees on no field the conflict holds).

    A field neither the base nor a conflict knows (the pass that would have agreed on it
    died after writing it outside, before its commit) is compared with the CRM record's
    value (``crm``): a value outside that the CRM does not hold would be lost with the
    record, so it counts as an edit. An empty one loses nothing and does not.
    """
    if (
        link.external_version is not None
        and record.version is not None
        and record.version != link.external_version
    ):
        return True
    seen = {**link.base, **held} if held else link.base
    return _differs(spec, seen, values, Side.CRM) or (
        crm is not None and _unknown_outside(spec, seen, values, crm)
    )


def crm_edited(
    spec: SyncSpec,
    base: Mapping[str, str | None],
    crm: Mapping[str, str | None],
    held: Mapping[str, str | None] | None = None,
) -> bool:
    """Whether the CRM record's synced properties changed since the link's last sync.

    ``held`` are the CRM values open conflicts keep (by field), as for
    :func:`external_edited`: the value the sync last saw in the CRM, base or not.
    """
    return _differs(spec, {**base, **held} if held else base, crm, Side.EXTERNAL)


def conflict(
    spec: SyncSpec,
    *,
    crm_id: int,
    external_id: str,
    deleted: Side,
    base: Mapping[str, str | None],
    crm: Mapping[str, str | None] | None,
    external: Mapping[str, str | None] | None,
) -> ConflictSpec:
    """The row that keeps both sides of one delete-vs-edit decision.

    ``deleted`` is the side that deleted; the other side's values are its edit. A side's
    value is its mapped values as JSON (sorted keys), or a marker for the deleted side.
    """
    keep = keeps_edit(spec)
    crm_value = ARCHIVED if deleted is Side.CRM else _json(crm)
    external_value = DELETED if deleted is Side.EXTERNAL else _json(external)
    edited = Side.EXTERNAL if deleted is Side.CRM else Side.CRM
    winner = edited if keep else deleted
    loser_value = crm_value if (winner is Side.EXTERNAL) else external_value
    where = "the CRM" if deleted is Side.CRM else "the external system"
    other = "the external system" if deleted is Side.CRM else "the CRM"
    reason = f"deleted in {where} and edited in {other} since the last sync; rule on_edit: " + (
        "keep_edit, the edit is kept and the record restored" if keep else "delete"
    )
    return ConflictSpec(
        crm_id=crm_id,
        external_id=external_id,
        field=RECORD_FIELD,
        rule=f"on_edit:{spec.delete_on_edit}",
        base=_json(base),
        has_base=True,
        crm_value=crm_value,
        external_value=external_value,
        winner=winner.value,
        loser_value=loser_value,
        loser_changed_at=None,
        open=False,
        reason=reason,
    )


def _differs(
    spec: SyncSpec,
    base: Mapping[str, str | None],
    values: Mapping[str, str | None],
    towards: Side,
) -> bool:
    for field in spec.fields:
        name = field.name
        if associations.is_key(name) or name not in base or name not in values:
            continue
        if field.direction.allows(towards) and values[name] != base[name]:
            return True
    return False


def _unknown_outside(
    spec: SyncSpec,
    seen: Mapping[str, str | None],
    values: Mapping[str, str | None],
    crm: Mapping[str, str | None],
) -> bool:
    """Whether the outside holds, in a field no agreement covers, a value the CRM lacks."""
    for field in spec.fields:
        name = field.name
        if associations.is_key(name) or name in seen or values.get(name) is None:
            continue
        if field.direction.allows(Side.CRM) and not same_value(values[name], crm.get(name)):
            return True
    return False


def _json(values: Mapping[str, str | None] | None) -> str | None:
    """Properties only (association keys are kept by the associations themselves; a base's
    release marks are syncd's own, see ``swaps``), so the row reads the same whichever half
    of the pass records it, and is recorded once."""
    if values is None:
        return None
    kept = {k: v for k, v in values.items() if not associations.is_key(k) and not is_mark(k)}
    return json.dumps(kept, sort_keys=True, ensure_ascii=False)
