"""The frozen values the resolver takes in: one field's three values, its direction and rule.

The engine builds a :class:`FieldState` per mapped field from the link's base, the CRM's
current value and the mapped external value, so the resolver never needs to know where any
of them came from. Rules and directions accept their configuration spelling (plain strings)
and are checked here, once, so a typo fails loudly at construction. ``Direction`` and
``Side`` are ``syncd.direction``'s, the one type the configuration and mapping use too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias

from conflict.errors import InvalidFieldStateError, UnknownDirectionError, UnknownRuleError
from syncd.direction import Direction, Side

__all__ = [
    "NO_BASE",
    "BaseValue",
    "Direction",
    "FieldState",
    "NoBase",
    "Rule",
    "Side",
    "parse_direction",
    "parse_rule",
]


class NoBase(enum.Enum):
    """The type of :data:`NO_BASE`; a one-member enum so mypy can narrow on ``is NO_BASE``."""

    NO_BASE = "no_base"

    def __repr__(self) -> str:
        return "NO_BASE"


NO_BASE: Final = NoBase.NO_BASE
"""The field was never synced. Distinct from ``None``, which is an agreed *empty* value:
without the difference, an agreed-empty field that one side later fills would look like a
first-sync disagreement and the rule could clear the new value."""

BaseValue: TypeAlias = str | Literal[NoBase.NO_BASE] | None


class Rule(enum.StrEnum):
    """How a field changed on both sides to different values is settled."""

    CRM_WINS = "crm_wins"
    EXTERNAL_WINS = "external_wins"
    MOST_RECENT = "most_recent"
    MANUAL = "manual"


def parse_rule(rule: Rule | str, *, field: str | None = None) -> Rule:
    """``rule`` as a :class:`Rule`, or :class:`UnknownRuleError` listing the valid names."""
    try:
        return Rule(rule)
    except ValueError:
        raise UnknownRuleError(rule, valid=tuple(r.value for r in Rule), field=field) from None


def parse_direction(direction: Direction | str, *, field: str) -> Direction:
    """``direction`` as a :class:`Direction`, or :class:`UnknownDirectionError`."""
    try:
        return Direction(direction)
    except ValueError:
        raise UnknownDirectionError(
            direction, valid=tuple(d.value for d in Direction), field=field
        ) from None


@dataclass(frozen=True)
class FieldState:
    """One field of one linked record, as the resolver needs it.

    ``base`` is what both sides agreed on at the last successful sync (:data:`NO_BASE` if
    never synced). ``crm`` and ``external`` are the canonical values now. ``rule`` is ``None``
    to use the sync's default. The two times feed ``most_recent`` only: the CRM property's
    last change (property history) and the external record's or field's update time; they
    must be aware, since comparing a naive time with an aware one is meaningless.
    """

    field: str
    base: BaseValue
    crm: str | None
    external: str | None
    direction: Direction | str = Direction.TWO_WAY
    rule: Rule | str | None = None
    crm_changed_at: datetime | None = None
    external_changed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", parse_direction(self.direction, field=self.field))
        if self.rule is not None:
            object.__setattr__(self, "rule", parse_rule(self.rule, field=self.field))
        for name in ("crm_changed_at", "external_changed_at"):
            when = getattr(self, name)
            if when is not None and when.utcoffset() is None:
                raise InvalidFieldStateError(f"{name} {when!r} is naive", field=self.field)

    @property
    def flow(self) -> Direction:
        """``direction`` as parsed (``__post_init__`` guarantees the type)."""
        assert isinstance(self.direction, Direction)
        return self.direction

    def changed_at(self, side: Side) -> datetime | None:
        """The known change time of ``side``'s value."""
        return self.crm_changed_at if side is Side.CRM else self.external_changed_at

    def value(self, side: Side) -> str | None:
        """``side``'s value now."""
        return self.crm if side is Side.CRM else self.external
