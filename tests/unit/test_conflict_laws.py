"""The laws that keep two-way sync from ping-ponging, checked with hypothesis.

``_sync`` plays the engine: it resolves a record, applies the writes to both sides and moves
the base, as a pass whose writes are all confirmed would.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from conflict import NO_BASE, Action, Direction, FieldState, RecordDecision, Rule, resolve_record

VALUES = st.sampled_from([None, "a", "b", "c"])
BASES = st.sampled_from([NO_BASE, None, "a", "b"])
TIMES = st.none() | st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2024, 1, 2),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def field_states(draw: st.DrawFn, name: str) -> FieldState:
    return FieldState(
        name,
        draw(BASES),
        draw(VALUES),
        draw(VALUES),
        direction=draw(st.sampled_from(Direction)),
        rule=draw(st.none() | st.sampled_from(Rule)),
        crm_changed_at=draw(TIMES),
        external_changed_at=draw(TIMES),
    )


@st.composite
def records(draw: st.DrawFn) -> list[FieldState]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [draw(field_states(f"f{i}")) for i in range(count)]


RULES = st.sampled_from(Rule)


def _apply(states: list[FieldState], decision: RecordDecision) -> list[FieldState]:
    crm, ext, base = decision.crm_writes(), decision.external_writes(), decision.new_base()
    return [
        FieldState(
            s.field,
            base[s.field] if s.field in base else NO_BASE,
            crm.get(s.field, s.crm),
            ext.get(s.field, s.external),
            direction=s.direction,
            rule=s.rule,
            crm_changed_at=s.crm_changed_at,
            external_changed_at=s.external_changed_at,
        )
        for s in states
    ]


def _sync(states: list[FieldState], default: Rule) -> tuple[list[FieldState], RecordDecision]:
    decision = resolve_record(states, default)
    return _apply(states, decision), decision


def _key(conflicts: RecordDecision) -> set[tuple[object, ...]]:
    return {(c.field, c.base, c.crm_value, c.external_value) for c in conflicts.conflicts()}


@given(records(), RULES)
def test_resolving_again_writes_nothing_and_finds_no_new_conflict(
    states: list[FieldState], default: Rule
) -> None:
    after, first = _sync(states, default)
    again = resolve_record(after, default)
    assert again.crm_writes() == {} and again.external_writes() == {}
    assert _key(again) <= _key(first)
    assert again.new_base() == first.new_base()


@given(records(), RULES)
def test_settled_fields_equal_the_base_on_both_sides(
    states: list[FieldState], default: Rule
) -> None:
    after, decision = _sync(states, default)
    for state, made in zip(after, decision.fields, strict=True):
        if made.action in (Action.TO_CRM, Action.TO_EXTERNAL) or state.crm == state.external:
            assert state.crm == state.external == state.base
        rule = state.rule or default
        if state.direction is Direction.TWO_WAY and rule is not Rule.MANUAL:
            assert state.crm == state.external == state.base


@given(records(), RULES)
def test_a_one_sided_change_is_never_overwritten(states: list[FieldState], default: Rule) -> None:
    decision = resolve_record(states, default)
    crm_writes, ext_writes = decision.crm_writes(), decision.external_writes()
    for s in states:
        if s.base is NO_BASE:
            continue
        if s.crm != s.base and s.external == s.base:
            assert s.field not in crm_writes
            assert ext_writes.get(s.field, s.crm) == s.crm
        if s.external != s.base and s.crm == s.base:
            assert s.field not in ext_writes
            assert crm_writes.get(s.field, s.external) == s.external


@given(records(), RULES)
def test_one_step_reaches_a_fixed_point(states: list[FieldState], default: Rule) -> None:
    once, _ = _sync(states, default)
    twice, _ = _sync(once, default)
    thrice, _ = _sync(twice, default)
    assert once == twice == thrice


@given(records(), RULES, st.lists(st.tuples(st.integers(0, 5), st.booleans(), VALUES)))
def test_edits_then_a_quiet_cycle_converge(
    states: list[FieldState],
    default: Rule,
    edits: list[tuple[int, bool, str | None]],
) -> None:
    """Random edits on either side, a sync after each; a final quiet cycle changes nothing."""
    current, _ = _sync(states, default)
    for index, on_crm, value in edits:
        i = index % len(current)
        s = current[i]
        current[i] = FieldState(
            s.field,
            s.base,
            value if on_crm else s.crm,
            s.external if on_crm else value,
            direction=s.direction,
            rule=s.rule,
            crm_changed_at=s.crm_changed_at,
            external_changed_at=s.external_changed_at,
        )
        current, _ = _sync(current, default)
    quiet = resolve_record(current, default)
    assert not quiet.has_writes()
