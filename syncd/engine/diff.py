"""One record's three-way diff: base, CRM values, external values -> a RecordDecision (pure).

The engine gathers the three sides in batches (links, records, history, the external page)
and calls this per record; everything here is plain values, so the decision a run made can
be reproduced from the log and tested without a database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deepdiff import DeepDiff

from conflict import NO_BASE, Action, FieldState, RecordDecision, Side, resolve_record
from mapping import MappingError, map_to_crm, map_to_external, set_path
from syncd.engine.spec import SyncSpec

__all__ = [
    "RecordPlan",
    "changed_at_by_record",
    "describe_change",
    "external_fields",
    "next_base",
    "plan_record",
    "read_external",
]


def read_external(spec: SyncSpec, fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The external record's values in CRM form, for every field the sync carries.

    A field that flows into the CRM and cannot be read is the record's error; one that only
    flows out and cannot be read counts as "no opinion" (it is never written to the CRM).
    """
    values: dict[str, str | None] = {}
    for mapping, readable in zip(spec.mappings, spec.reading_mappings, strict=True):
        try:
            values.update(map_to_crm((readable,), fields))
        except MappingError:
            if mapping.to_crm:
                raise
    return values


@dataclass(frozen=True)
class RecordPlan:
    """The decision for one record and the next base, as the engine applies them."""

    decision: RecordDecision
    base: dict[str, str | None]

    @property
    def crm_writes(self) -> dict[str, str | None]:
        return self.decision.crm_writes()

    @property
    def external_writes(self) -> dict[str, str | None]:
        return self.decision.external_writes()


def plan_record(
    spec: SyncSpec,
    *,
    base: Mapping[str, str | None] | None,
    crm: Mapping[str, str | None],
    external: Mapping[str, str | None],
    crm_changed_at: Mapping[str, datetime] | None = None,
    external_changed_at: datetime | None = None,
) -> RecordPlan:
    """Decide every carried field of one linked (or just matched) record.

    A field the external record did not send (a partial webhook, a column not selected) has
    no external opinion: it is compared as if the external side still held the base.
    """
    base = base or {}
    states: list[FieldState] = []
    for field in spec.fields:
        name = field.name
        had = base.get(name, NO_BASE) if name in base else NO_BASE
        crm_value = crm.get(name)
        if name in external:
            ext_value = external[name]
        elif had is not NO_BASE:
            ext_value = had
        else:
            ext_value = crm_value
        states.append(
            FieldState(
                name,
                had,
                crm_value,
                ext_value,
                direction=field.direction,
                rule=field.rule,
                crm_changed_at=(crm_changed_at or {}).get(name),
                external_changed_at=external_changed_at,
            )
        )
    decision = resolve_record(states, spec.default_rule)
    return RecordPlan(decision, next_base(decision, confirmed_external=False))


def changed_at_by_record(
    changed: Mapping[tuple[int, str], datetime],
) -> dict[int, dict[str, datetime]]:
    """``{(record, property): time}`` as ``{record: {property: time}}``, grouped in one pass."""
    grouped: dict[int, dict[str, datetime]] = {}
    for (record_id, name), when in changed.items():
        grouped.setdefault(record_id, {})[name] = when
    return grouped


def next_base(decision: RecordDecision, *, confirmed_external: bool) -> dict[str, str | None]:
    """The base to store: a value sent outside counts only once the other side confirmed it."""
    out: dict[str, str | None] = {}
    for d in decision.fields:
        value = d.next_base
        if d.action is Action.TO_EXTERNAL and not confirmed_external:
            value = d.base
        if value is not NO_BASE:
            out[d.field] = value
    return out


def external_fields(
    spec: SyncSpec, crm: Mapping[str, str | None], writes: Mapping[str, str | None]
) -> dict[str, Any]:
    """The external fields to send for ``writes``, from the CRM record's values.

    A mapping that joins several properties (first + last -> full name) needs all of them,
    so each touched mapping is fed the whole record with the writes laid over it.
    """
    current = {**crm, **writes}
    touched = tuple(
        m for m in spec.mappings if m.to_external and any(name in writes for name in m.crm)
    )
    out = map_to_external(touched, current)
    for assoc in spec.associations:
        if assoc.key in writes and assoc.direction.allows(Side.EXTERNAL):
            set_path(out, assoc.external, writes[assoc.key])
    return out


def describe_change(
    before: Mapping[str, str | None], after: Mapping[str, str | None]
) -> dict[str, Any]:
    """What changed between two value sets, as deepdiff describes it, JSON-ready for the log.

    Plain equality decides *whether* anything changed (cheap, exact); deepdiff is asked only
    to *describe* a change, so the log reads the same whichever side it came from.
    """
    if dict(before) == dict(after):
        return {}
    if not before:
        # A created record: every value is new. Written in deepdiff's own shape, since
        # asking deepdiff to find that out costs more than the whole database write.
        return {"dictionary_item_added": {f"root['{k}']": v for k, v in after.items()}}
    diff = DeepDiff(dict(before), dict(after), verbose_level=2)
    described: dict[str, Any] = json.loads(diff.to_json())
    return described
