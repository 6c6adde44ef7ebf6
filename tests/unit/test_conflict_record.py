"""A record's decision: the write and base views, the conflict log, and refused inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conflict import (
    NO_BASE,
    Action,
    FieldState,
    InvalidFieldStateError,
    Rule,
    Side,
    UnknownDirectionError,
    UnknownRuleError,
    resolve_record,
)
from syncd.errors import ConfigError, UsageError

T = datetime(2024, 5, 1, tzinfo=UTC)


def test_record_views() -> None:
    record = resolve_record(
        [
            FieldState("email", "a@x", "b@x", "a@x"),
            FieldState("phone", "1", "1", "2"),
            FieldState("city", NO_BASE, "Oslo", "Oslo"),
            FieldState("title", "x", "y", "z", rule="external_wins", crm_changed_at=T),
            FieldState("notes", "n", "crm note", "ext note", rule="manual"),
            FieldState("fresh", NO_BASE, "p", "q", direction="to_crm", rule="crm_wins"),
        ],
        "crm_wins",
    )
    assert record.crm_writes() == {"phone": "2", "title": "z"}
    assert record.external_writes() == {"email": "b@x"}
    assert record.new_base() == {
        "email": "b@x",
        "phone": "2",
        "city": "Oslo",
        "title": "z",
        "notes": "n",
    }
    assert record.has_writes()
    by_field = {c.field: c for c in record.conflicts()}
    assert set(by_field) == {"title", "notes", "fresh"}
    title = by_field["title"]
    assert (title.winner, title.loser_side, title.loser_value) == (Side.EXTERNAL, Side.CRM, "y")
    assert (title.loser_changed_at, title.base, title.open) == (T, "x", False)
    notes = by_field["notes"]
    assert notes.open and notes.rule is Rule.MANUAL
    assert (notes.base, notes.crm_value, notes.external_value) == ("n", "crm note", "ext note")
    assert notes.winner is None and notes.loser_side is None
    fresh = by_field["fresh"]
    assert fresh.base is NO_BASE and not fresh.open
    assert "does not write to" in fresh.reason


def test_default_rule_applies_only_without_a_field_rule() -> None:
    record = resolve_record(
        [FieldState("a", "0", "1", "2"), FieldState("b", "0", "1", "2", rule=Rule.CRM_WINS)],
        Rule.EXTERNAL_WINS,
    )
    assert [d.action for d in record.fields] == [Action.TO_CRM, Action.TO_EXTERNAL]


def test_quiet_record_has_no_writes() -> None:
    record = resolve_record([FieldState("a", "1", "1", "1")], "manual")
    assert not record.has_writes() and record.conflicts() == []


def test_reasons_carry_no_values() -> None:
    secret = "s3cret-value"
    record = resolve_record(
        [FieldState("a", "0", secret, "2"), FieldState("b", "0", secret, "0")], "crm_wins"
    )
    assert all(secret not in d.reason for d in record.fields)


@pytest.mark.parametrize(
    "build",
    [
        lambda: resolve_record([FieldState("a", "0", "1", "2")], "newest"),
        lambda: FieldState("a", "0", "1", "2", rule="crm-wins"),
    ],
    ids=["default_rule", "field_rule"],
)
def test_unknown_rule(build: object) -> None:
    with pytest.raises(UnknownRuleError) as info:
        build()  # type: ignore[operator]
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)
    assert "most_recent" in str(info.value)


def test_unknown_direction() -> None:
    with pytest.raises(UnknownDirectionError, match="two-way") as info:
        FieldState("a", "0", "1", "2", direction="both")
    assert isinstance(info.value, ValueError) and info.value.field == "a"


def test_naive_time_refused() -> None:
    with pytest.raises(InvalidFieldStateError, match="naive") as info:
        FieldState("a", "0", "1", "2", crm_changed_at=datetime(2024, 1, 1))  # noqa: DTZ001
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)


def test_duplicate_field_refused() -> None:
    with pytest.raises(InvalidFieldStateError, match="twice"):
        resolve_record([FieldState("a", "0", "1", "1"), FieldState("a", "0", "1", "1")], "manual")
