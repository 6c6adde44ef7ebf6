"""Three-way conflict resolution per field: base, CRM value, external value -> decisions.

Pure (no I/O, never reads the clock, nothing of ours but ``syncd.errors``): the engine hands
in frozen :class:`FieldState` values, times included, and applies the :class:`RecordDecision`
it gets back, logging each field's ``reason``. Keeping the decision pure is what lets the
convergence laws (idempotent, no ping-pong) be proved by property tests instead of hoped
for. See ``docs/conflict.md``.
"""

from __future__ import annotations

from conflict.decision import Action, Conflict, FieldDecision, RecordDecision
from conflict.errors import InvalidFieldStateError, UnknownDirectionError, UnknownRuleError
from conflict.model import (
    NO_BASE,
    BaseValue,
    Direction,
    FieldState,
    NoBase,
    Rule,
    Side,
    parse_direction,
    parse_rule,
)
from conflict.resolve import agreed_field, resolve_field, resolve_record

__all__ = [
    "NO_BASE",
    "Action",
    "BaseValue",
    "Conflict",
    "Direction",
    "FieldDecision",
    "FieldState",
    "InvalidFieldStateError",
    "NoBase",
    "RecordDecision",
    "Rule",
    "Side",
    "UnknownDirectionError",
    "UnknownRuleError",
    "agreed_field",
    "parse_direction",
    "parse_rule",
    "resolve_field",
    "resolve_record",
]
