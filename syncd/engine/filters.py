"""Sync filters: which records a sync carries, evaluated on plain values (pure).

Only CRM records matching the CRM filter go out; only external records matching the external
filter come in. A linked record that stops matching is unlinked, never deleted: a filter says
what the sync is responsible for, not what should exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mapping import MISSING, get_path

__all__ = ["FilterLike", "matches"]


class FilterLike(Protocol):
    field: str
    op: str
    value: Any
    values: Any


def _text(value: object) -> str | None:
    """Compare as text so ``1`` in YAML matches ``"1"`` in a record and ``True`` ``"true"``."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _one(rule: FilterLike, record: Mapping[str, Any]) -> bool:
    raw = get_path(record, rule.field) if "." in rule.field else record.get(rule.field, MISSING)
    have = _text(raw)
    if rule.op == "has":
        return have not in (None, "")
    if rule.op == "not_has":
        return have in (None, "")
    if rule.op in ("in", "not_in"):
        wanted = {_text(v) for v in (rule.values or [])}
        return (have in wanted) == (rule.op == "in")
    equal = have == _text(rule.value)
    return equal if rule.op == "eq" else not equal


def matches(rules: Sequence[FilterLike], record: Mapping[str, Any]) -> bool:
    """Whether ``record`` passes every rule (no rules: everything passes)."""
    return all(_one(rule, record) for rule in rules)
