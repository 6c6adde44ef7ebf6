"""One record's three-way diff: base, CRM values, external values -> a RecordDecision (pure).

The engine gathers the three sides in batches (links, records, history, the external page)
and calls this per record; everything here is plain values, so the decision a run made can
be reproduced from the log and tested without a database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from deepdiff import DeepDiff

from conflict import (
    NO_BASE,
    Action,
    Conflict,
    FieldDecision,
    FieldState,
    RecordDecision,
    Side,
    agreed_field,
    resolve_field,
    resolve_record,
)
from mapping import MappingError, map_to_crm, map_to_external, set_path
from store import as_log_changes
from syncd.engine.spec import SyncSpec

__all__ = [
    "RecordPlan",
    "changed_at_by_record",
    "describe_change",
    "external_fields",
    "next_base",
    "plan_record",
    "read_external",
    "same_value",
    "spelled",
]


def read_external(spec: SyncSpec, fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The external record's values in CRM form, for every field the sync carries.

    A field that flows into the CRM and cannot be read is the record's error; one that only
    flows out and cannot be read counts as "no opinion" (it is never written to the CRM).
    """
    try:
        # All mappings in one call: the same values as one call per mapping when none fails.
        return spec.read_crm(fields)
    except MappingError:
        pass  # find out which mapping failed and whether that is the record's error
    values: dict[str, str | None] = {}
    for mapping, readable in zip(spec.mappings, spec.reading_mappings, strict=True):
        try:
            values.update(map_to_crm((readable,), fields))
        except MappingError:
            if mapping.to_crm:
                raise
    return values


class RecordPlan:
    """The decision for one record and the next base, as the engine applies them.

    Only a field whose two sides differ can be written or be a conflict: one both sides
    agree on is decided "nothing to write, the base becomes that value" whatever its rule
    or direction. So when resolving could refuse nothing (``_plain``), ``plan_record``
    resolves the differing fields only (``differing``, in field order) and the whole
    field-by-field decision is built only if someone reads it: building it costs more than
    the database write of a created record. Writes, conflicts and the base are the same
    either way (the randomized tests in ``tests/unit/test_compiled_paths.py`` hold it).
    """

    __slots__ = ("_decide", "_decision", "_differing", "base")

    def __init__(
        self,
        decision: RecordDecision | None,
        base: dict[str, str | None],
        *,
        decide: Callable[[], RecordDecision] | None = None,
        differing: tuple[FieldDecision, ...] | None = None,
    ) -> None:
        if decision is None and (decide is None or differing is None):
            raise ValueError("a RecordPlan needs its decision or a way to make it")
        self._decision = decision
        self._decide = decide
        self._differing = differing
        self.base = base

    @property
    def decision(self) -> RecordDecision:
        if self._decision is None:
            assert self._decide is not None
            self._decision = self._decide()
        return self._decision

    @property
    def differing(self) -> tuple[FieldDecision, ...]:
        """The decisions of the fields whose sides differ: every write and conflict."""
        if self._differing is None:
            return self.decision.fields
        return self._differing

    @property
    def crm_writes(self) -> dict[str, str | None]:
        return {d.field: d.value for d in self.differing if d.action is Action.TO_CRM}

    @property
    def external_writes(self) -> dict[str, str | None]:
        return {d.field: d.value for d in self.differing if d.action is Action.TO_EXTERNAL}

    def conflicts(self) -> list[Conflict]:
        if self._differing is None:
            return self.decision.conflicts()
        if not self._differing:
            return []
        return RecordDecision(self._differing).conflicts()


def plan_record(
    spec: SyncSpec,
    *,
    base: Mapping[str, str | None] | None,
    crm: Mapping[str, str | None],
    external: Mapping[str, str | None],
    crm_changed_at: Mapping[str, datetime] | None = None,
    external_changed_at: datetime | None = None,
    handed_over: bool = False,
) -> RecordPlan:
    """Decide every carried field of one linked (or just matched) record.

    A field the external record did not send (a partial webhook, a column not selected) has
    no external opinion: it is compared as if the external side still held the base.

    ``handed_over``: the caller never changes ``crm`` and ``external`` again (a record just
    created), so a decision made later, if anyone reads it, may read them instead of copies.
    """
    base = base or {}
    changed_at = crm_changed_at or {}
    if not _plain(spec, changed_at, external_changed_at):
        decision = _decide(spec, base, crm, external, changed_at, external_changed_at)
        return RecordPlan(decision, next_base(decision, confirmed_external=False))
    # Resolving can refuse nothing: the fields both sides agree on are settled here, the
    # others resolved one by one; the whole decision waits until someone reads it.
    if not base and not changed_at:
        # No base (a record just created or matched): a field the external record did not
        # send compares as the CRM's value, so the record agrees when every value it sent
        # is a field's CRM value (one dict comparison; any other case takes the loop).
        get = crm.get
        agreed = {name: get(name) for name in spec.field_names}
        if external.items() <= agreed.items():
            kept = (crm, external) if handed_over else (dict(crm), dict(external))
            return RecordPlan(
                None,
                agreed,
                decide=lambda: _decide(spec, {}, kept[0], kept[1], {}, external_changed_at),
                differing=(),
            )
    differing: list[FieldDecision] = []
    new_base: dict[str, str | None] = {}
    default = spec.default_rule
    to_external = Action.TO_EXTERNAL
    for field in spec.fields:
        name = field.name
        crm_value = crm.get(name)
        if name in external:
            ext_value = external[name]
        elif name in base:
            ext_value = base[name]
        else:
            ext_value = crm_value
        if crm_value == ext_value:
            new_base[name] = crm_value
            continue
        decided = resolve_field(
            FieldState(
                name,
                base[name] if name in base else NO_BASE,
                crm_value,
                ext_value,
                direction=field.direction,
                rule=field.rule,
                crm_changed_at=changed_at.get(name),
                external_changed_at=external_changed_at,
            ),
            default,
        )
        differing.append(decided)
        # ``next_base``: a value sent outside counts only once the other side confirmed it.
        value = decided.base if decided.action is to_external else decided.next_base
        if value is not NO_BASE:
            new_base[name] = value
    if not (handed_over and not base and not changed_at):
        base, crm, external = dict(base), dict(crm), dict(external)
        changed_at = dict(changed_at)
    sides = (base, crm, external, changed_at)
    return RecordPlan(
        None,
        new_base,
        decide=lambda: _decide(spec, *sides, external_changed_at),
        differing=tuple(differing),
    )


def _decide(
    spec: SyncSpec,
    base: Mapping[str, str | None],
    crm: Mapping[str, str | None],
    external: Mapping[str, str | None],
    crm_changed_at: Mapping[str, datetime],
    external_changed_at: datetime | None,
) -> RecordDecision:
    # A plain spec with aware times gives the resolver nothing to refuse: a field both
    # sides agree on is decided directly (``agreed_field``, as ``resolve_field`` decides
    # it), without building its FieldState; the others go through the resolver.
    plain = _plain(spec, crm_changed_at, external_changed_at)
    states: list[FieldState] = []
    decisions: list[FieldDecision] = []
    default = spec.default_rule
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
        if plain and crm_value == ext_value:
            decisions.append(agreed_field(name, had, crm_value, ext_value))
            continue
        state = FieldState(
            name,
            had,
            crm_value,
            ext_value,
            direction=field.direction,
            rule=field.rule,
            crm_changed_at=crm_changed_at.get(name),
            external_changed_at=external_changed_at,
        )
        if plain:
            decisions.append(resolve_field(state, default))
        else:
            states.append(state)
    if plain:
        return RecordDecision(tuple(decisions))
    return resolve_record(states, spec.default_rule)


def _plain(
    spec: SyncSpec, crm_changed_at: Mapping[str, datetime], external_changed_at: datetime | None
) -> bool:
    """Whether resolving would accept these inputs as they are (nothing for it to refuse),
    so a field may be decided without the whole record's FieldStates: otherwise the full
    path runs and raises its errors."""
    if external_changed_at is not None and external_changed_at.utcoffset() is None:
        return False
    if crm_changed_at and any(
        when is not None and when.utcoffset() is None for when in crm_changed_at.values()
    ):
        return False
    return spec.plain


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
        return as_log_changes(after)
    quick = _same_keys_change(before, after)
    if quick is not None:
        return quick
    diff = DeepDiff(dict(before), dict(after), verbose_level=2)
    described: dict[str, Any] = json.loads(diff.to_json())
    return described


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")
_TYPE_NAME = {str: "str", type(None): "NoneType"}


def _same_keys_change(
    before: Mapping[str, str | None], after: Mapping[str, str | None]
) -> dict[str, Any] | None:
    """deepdiff's description of an update, written out directly for the usual shape.

    An update's ``before`` and ``after`` name the same plain properties in the same order,
    each holding text or None. deepdiff then reports ``type_changes`` (text <-> None) and
    ``values_changed`` (text -> other text), in key order, and nothing else. Asking deepdiff
    costs more than the update's database write. Any other shape (None here) goes to it.
    """
    if list(before) != list(after):
        return None
    type_changes: dict[str, Any] = {}
    values_changed: dict[str, Any] = {}
    for name, old in before.items():
        new = after[name]
        if type(old) not in _TYPE_NAME or type(new) not in _TYPE_NAME:
            return None
        if not _PLAIN_KEY.fullmatch(name):
            return None
        if old == new:
            continue
        path = f"root['{name}']"
        if type(old) is type(new):
            values_changed[path] = {"new_value": new, "old_value": old}
        else:
            type_changes[path] = {
                "old_type": _TYPE_NAME[type(old)],
                "new_type": _TYPE_NAME[type(new)],
                "old_value": old,
                "new_value": new,
            }
    described: dict[str, Any] = {}
    if type_changes:
        described["type_changes"] = type_changes
    if values_changed:
        described["values_changed"] = values_changed
    return described


def same_value(found: object, sent: object) -> bool:
    """Equal as a field value, the way a system may give it back (case, spaces, type)."""
    return spelled(found) == spelled(sent)


def spelled(value: object) -> str:
    """A field value as compared: case and surrounding spaces aside, ``""`` when empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()
