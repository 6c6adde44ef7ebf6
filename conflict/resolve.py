"""Three-way resolution: each field's base, CRM value and external value -> one decision.

A side *changed* a field when its value differs from the base (with no base, both sides
count as changed, so a first-sync disagreement is settled by the rule like any conflict).
Changed on one side: the value flows to the other, if the direction allows. On a first
sync an empty side takes the other side's value whatever the rule. Changed on both
to the same value: nothing to write, the base moves. Changed on both to different values:
the field's rule (or the sync's default). Reasons carry no values, so logs carry no data.
"""

from __future__ import annotations

from collections.abc import Sequence

from conflict._winner import pick_winner
from conflict.decision import Action, FieldDecision, RecordDecision
from conflict.errors import InvalidFieldStateError
from conflict.model import NO_BASE, BaseValue, FieldState, Rule, Side, parse_rule

__all__ = ["agreed_field", "resolve_field", "resolve_record"]

_NAME = {Side.CRM: "the CRM", Side.EXTERNAL: "the external system"}


def _other(side: Side) -> Side:
    return Side.EXTERNAL if side is Side.CRM else Side.CRM


def _write_action(towards: Side) -> Action:
    return Action.TO_CRM if towards is Side.CRM else Action.TO_EXTERNAL


def resolve_record(fields: Sequence[FieldState], default_rule: Rule | str) -> RecordDecision:
    """Decide every field of one record; ``default_rule`` applies where a field has none."""
    default = parse_rule(default_rule)
    seen: set[str] = set()
    for state in fields:
        if state.field in seen:
            raise InvalidFieldStateError("given twice in one record", field=state.field)
        seen.add(state.field)
    return RecordDecision(tuple(resolve_field(state, default) for state in fields))


def resolve_field(state: FieldState, default_rule: Rule) -> FieldDecision:
    """Decide one field (see the module docstring for the rules)."""
    base, crm, ext = state.base, state.crm, state.external
    if crm == ext:
        return agreed_field(state.field, base, crm, ext)
    crm_changed = base is NO_BASE or crm != base
    ext_changed = base is NO_BASE or ext != base
    if crm_changed and ext_changed:
        rule = state.rule if isinstance(state.rule, Rule) else default_rule
        return _both_changed(state, rule)
    return _one_side(state, Side.CRM if crm_changed else Side.EXTERNAL)


def agreed_field(
    field: str, base: BaseValue, crm: str | None, external: str | None
) -> FieldDecision:
    """The decision for a field whose two sides hold the same value (``crm == external``):
    nothing to write, the base moves to that value. Neither rule, direction nor change
    times play a part, so a caller that knows its states are valid may skip building
    them; ``resolve_field`` decides such a field through this very function."""
    if base is NO_BASE:
        reason = "first sync: both sides already hold the same value"
    elif base == crm:
        reason = "unchanged on both sides"
    else:
        reason = "changed on both sides to the same value; the base moves to it"
    return FieldDecision(
        field=field,
        action=Action.NONE,
        value=crm,
        winner=None,
        loser_value=None,
        loser_side=None,
        rule=None,
        reason=reason,
        base=base,
        next_base=crm,
        crm_value=crm,
        external_value=external,
        loser_changed_at=None,
        both_changed=False,
    )


def _one_side(state: FieldState, source: Side) -> FieldDecision:
    target = _other(source)
    said = f"changed in {_NAME[source]} only"
    if not state.flow.allows(target):
        return _decision(
            state,
            Action.NONE,
            None,
            f"{said}; direction {state.flow.value} does not write to {_NAME[target]}",
            next_base=state.base,
        )
    value = state.value(source)
    return _decision(
        state, _write_action(target), value, f"{said}; flows to {_NAME[target]}", next_base=value
    )


def _both_changed(state: FieldState, rule: Rule) -> FieldDecision:
    if state.base is NO_BASE and (state.crm is None or state.external is None):
        # First sync with one side empty: an empty field is no opinion, so the value fills
        # it whatever the rule (HubSpot Data Sync does the same); clearing would lose data.
        filled = Side.EXTERNAL if state.crm is None else Side.CRM
        return _first_fill(state, filled)
    said = "no base yet and the sides differ" if state.base is NO_BASE else "changed on both sides"
    if rule is Rule.MANUAL:
        return _decision(
            state,
            Action.CONFLICT_HELD,
            None,
            f"{said}; manual: held for an operator, nothing overwritten",
            next_base=state.base,
            rule=rule,
        )
    winner, why = pick_winner(state, rule)
    loser = _other(winner)
    if not state.flow.allows(loser):
        return _decision(
            state,
            Action.NONE,
            None,
            f"{said}; {why}, but direction {state.flow.value} does not write to {_NAME[loser]}",
            next_base=state.base,
            rule=rule,
            winner=winner,
        )
    value = state.value(winner)
    return _decision(
        state,
        _write_action(loser),
        value,
        f"{said}; {why}: {_NAME[winner]}'s value overwrites {_NAME[loser]}'s",
        next_base=value,
        rule=rule,
        winner=winner,
    )


def _first_fill(state: FieldState, source: Side) -> FieldDecision:
    target = _other(source)
    said = f"first sync: {_NAME[target]} is empty"
    if not state.flow.allows(target):
        return _decision(
            state,
            Action.NONE,
            None,
            f"{said}; direction {state.flow.value} does not write to {_NAME[target]}",
            next_base=state.base,
        )
    value = state.value(source)
    return _decision(
        state,
        _write_action(target),
        value,
        f"{said}; {_NAME[source]}'s value fills it",
        next_base=value,
    )


def _decision(
    state: FieldState,
    action: Action,
    value: str | None,
    reason: str,
    *,
    next_base: BaseValue,
    rule: Rule | None = None,
    winner: Side | None = None,
) -> FieldDecision:
    """One :class:`FieldDecision`; ``rule`` is set exactly when both sides changed."""
    loser = None if winner is None else _other(winner)
    return FieldDecision(
        field=state.field,
        action=action,
        value=value,
        winner=winner,
        loser_value=None if loser is None else state.value(loser),
        loser_side=loser,
        rule=rule,
        reason=reason,
        base=state.base,
        next_base=next_base,
        crm_value=state.crm,
        external_value=state.external,
        loser_changed_at=None if loser is None else state.changed_at(loser),
        both_changed=rule is not None,
    )
