"""Three-way resolution, table-driven: every base/CRM/external shape x direction x rule.

The expected outcome is written as a small table of *kinds* (unchanged, one side changed,
both changed alike, both changed apart), labelled by hand per row, so the oracle does not
re-derive the resolver's own comparisons.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from conflict import (
    NO_BASE,
    Action,
    BaseValue,
    Direction,
    FieldState,
    Rule,
    Side,
    resolve_field,
    resolve_record,
)

# (id, base, crm, external, kind)
SHAPES: list[tuple[str, BaseValue, str | None, str | None, str]] = [
    ("unchanged", "a", "a", "a", "agree"),
    ("unchanged_empty", None, None, None, "agree"),
    ("first_sync_equal", NO_BASE, "a", "a", "agree"),
    ("first_sync_both_empty", NO_BASE, None, None, "agree"),
    ("both_same_new", "a", "b", "b", "agree"),
    ("both_cleared", "a", None, None, "agree"),
    ("crm_only", "a", "b", "a", "crm"),
    ("crm_cleared", "a", None, "a", "crm"),
    ("crm_filled", None, "b", None, "crm"),
    ("ext_only", "a", "a", "b", "ext"),
    ("ext_cleared", "a", "a", None, "ext"),
    ("ext_filled", None, None, "b", "ext"),
    ("both_differ", "a", "b", "c", "both"),
    ("both_differ_crm_cleared", "a", None, "c", "both"),
    ("both_differ_ext_cleared", "a", "b", None, "both"),
    ("both_filled_apart", None, "b", "c", "both"),
    ("first_sync_differ", NO_BASE, "b", "c", "both"),
    # First sync with one side empty: the value fills the empty side whatever the rule.
    ("first_sync_crm_empty", NO_BASE, None, "c", "ext"),
    ("first_sync_ext_empty", NO_BASE, "b", None, "crm"),
]

WRITES_TO = {
    Direction.TWO_WAY: {Side.CRM, Side.EXTERNAL},
    Direction.TO_CRM: {Side.CRM},
    Direction.TO_EXTERNAL: {Side.EXTERNAL},
}
WINNER = {Rule.CRM_WINS: Side.CRM, Rule.EXTERNAL_WINS: Side.EXTERNAL, Rule.MOST_RECENT: Side.CRM}

CASES = list(itertools.product(SHAPES, Direction, Rule))


def _expected(
    kind: str, direction: Direction, rule: Rule, crm: str | None, ext: str | None, base: BaseValue
) -> tuple[Action, str | None, BaseValue]:
    """(action, value written, next base) for one row."""
    if kind == "agree":
        return Action.NONE, crm, crm
    if kind in ("crm", "ext"):
        source, target = (Side.CRM, Side.EXTERNAL) if kind == "crm" else (Side.EXTERNAL, Side.CRM)
    elif rule is Rule.MANUAL:
        return Action.CONFLICT_HELD, None, base
    else:
        source = WINNER[rule]
        target = Side.EXTERNAL if source is Side.CRM else Side.CRM
    if target not in WRITES_TO[direction]:
        return Action.NONE, None, base
    value = crm if source is Side.CRM else ext
    action = Action.TO_CRM if target is Side.CRM else Action.TO_EXTERNAL
    return action, value, value


@pytest.mark.parametrize(
    ("shape", "direction", "rule"),
    CASES,
    ids=[f"{s[0]}-{d.value}-{r.value}" for s, d, r in CASES],
)
def test_resolution_table(
    shape: tuple[str, BaseValue, str | None, str | None, str], direction: Direction, rule: Rule
) -> None:
    _, base, crm, ext, kind = shape
    state = FieldState("f", base, crm, ext, direction=direction, rule=rule)
    decision = resolve_field(state, Rule.CRM_WINS)
    action, value, next_base = _expected(kind, direction, rule, crm, ext, base)

    assert (decision.action, decision.value, decision.next_base) == (action, value, next_base)
    assert decision.both_changed == (kind == "both")
    assert decision.rule == (rule if kind == "both" else None)
    assert decision.reason
    record = resolve_record([state], Rule.CRM_WINS)
    conflicts = record.conflicts()
    assert len(conflicts) == (1 if kind == "both" else 0)
    if conflicts:
        (conflict,) = conflicts
        assert (conflict.base, conflict.crm_value, conflict.external_value) == (base, crm, ext)
        assert conflict.open == (rule is Rule.MANUAL)


T1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(seconds=1)
T1_ELSEWHERE = T1.astimezone(timezone(timedelta(hours=2)))

MOST_RECENT = [
    ("external_later", T1, T2, Side.EXTERNAL),
    ("crm_later", T2, T1, Side.CRM),
    ("tie_goes_to_crm", T1, T1, Side.CRM),
    ("tie_across_zones", T1, T1_ELSEWHERE, Side.CRM),
    ("crm_time_unknown", None, T1, Side.EXTERNAL),
    ("external_time_unknown", T1, None, Side.CRM),
    ("both_unknown", None, None, Side.CRM),
]


@pytest.mark.parametrize(
    ("crm_at", "ext_at", "winner"),
    [c[1:] for c in MOST_RECENT],
    ids=[c[0] for c in MOST_RECENT],
)
def test_most_recent(crm_at: datetime | None, ext_at: datetime | None, winner: Side) -> None:
    state = FieldState("f", "a", "crm", "ext", rule="most_recent", crm_changed_at=crm_at,
                       external_changed_at=ext_at)  # fmt: skip
    decision = resolve_field(state, Rule.MANUAL)
    loser = Side.EXTERNAL if winner is Side.CRM else Side.CRM
    assert decision.winner is winner
    assert decision.loser_side is loser
    assert decision.value == state.value(winner)
    assert decision.loser_value == state.value(loser)
    assert decision.loser_changed_at == state.changed_at(loser)
