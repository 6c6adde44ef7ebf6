"""The decisions the resolver returns: what to write where, the next base, and why.

The engine applies these and logs each ``reason`` (``conflict_resolved``); it never decides
anything itself, so every write the daemon makes can be traced to one rule on one field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from conflict.model import NO_BASE, BaseValue, Rule, Side

__all__ = ["Action", "Conflict", "FieldDecision", "RecordDecision"]


class Action(enum.StrEnum):
    """What the engine does with one field."""

    NONE = "none"
    TO_CRM = "to_crm"
    TO_EXTERNAL = "to_external"
    CONFLICT_HELD = "conflict_held"


@dataclass(frozen=True)
class FieldDecision:
    """The outcome for one field.

    ``value`` is what is written (``to_crm`` / ``to_external``) or what both sides already
    hold (``none`` with agreement); ``winner`` / ``loser_*`` are set when both sides changed
    and a rule picked one. ``next_base`` is the base once the writes are confirmed (the old
    base when nothing was agreed, e.g. a held conflict or a write the direction forbids).
    """

    field: str
    action: Action
    value: str | None
    winner: Side | None
    loser_value: str | None
    loser_side: Side | None
    rule: Rule | None
    reason: str
    base: BaseValue = NO_BASE
    next_base: BaseValue = NO_BASE
    crm_value: str | None = None
    external_value: str | None = None
    loser_changed_at: datetime | None = None
    both_changed: bool = False


@dataclass(frozen=True)
class Conflict:
    """A field changed on both sides to different values, kept so an operator can restore it.

    Every such field yields one, whatever the rule: the loser's value, side and time and the
    base survive even when the rule settled it. ``open`` is true only for ``manual``, where
    nothing was written and an operator must choose.
    """

    field: str
    rule: Rule
    base: BaseValue
    crm_value: str | None
    external_value: str | None
    winner: Side | None
    loser_side: Side | None
    loser_value: str | None
    loser_changed_at: datetime | None
    open: bool
    reason: str


@dataclass(frozen=True)
class RecordDecision:
    """All field decisions of one record, with the views the engine applies."""

    fields: tuple[FieldDecision, ...]

    def crm_writes(self) -> dict[str, str | None]:
        """Field -> value to write to the CRM."""
        return {d.field: d.value for d in self.fields if d.action is Action.TO_CRM}

    def external_writes(self) -> dict[str, str | None]:
        """Field -> value to write to the external system."""
        return {d.field: d.value for d in self.fields if d.action is Action.TO_EXTERNAL}

    def new_base(self) -> dict[str, str | None]:
        """The base after the writes are confirmed; never-synced fields stay absent."""
        return {d.field: d.next_base for d in self.fields if d.next_base is not NO_BASE}

    def conflicts(self) -> list[Conflict]:
        """Every field changed on both sides to different values (``manual`` ones open)."""
        return [
            Conflict(
                field=d.field,
                rule=d.rule,
                base=d.base,
                crm_value=d.crm_value,
                external_value=d.external_value,
                winner=d.winner,
                loser_side=d.loser_side,
                loser_value=d.loser_value,
                loser_changed_at=d.loser_changed_at,
                open=d.action is Action.CONFLICT_HELD,
                reason=d.reason,
            )
            for d in self.fields
            if d.both_changed and d.rule is not None
        ]

    def has_writes(self) -> bool:
        """Whether anything must be written to either side."""
        return any(d.action in (Action.TO_CRM, Action.TO_EXTERNAL) for d in self.fields)
