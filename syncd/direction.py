"""Which way a field flows: the one direction type of the configuration, mapping and engine.

The YAML spells a direction ``two-way``, ``to_crm`` or ``to_external``; those spellings are
the values of :class:`Direction`, so a config model, a field mapping, the resolver and the
CLI's JSON all hold the same object and never convert between strings and enums.

This module imports nothing of ours (like ``syncd/errors.py``), so the pure packages
``mapping/`` and ``conflict/`` may import it.
"""

from __future__ import annotations

import enum

__all__ = ["Direction", "Side"]


class Side(enum.StrEnum):
    """One end of a sync."""

    CRM = "crm"
    EXTERNAL = "external"


class Direction(enum.StrEnum):
    """Which way a field (or a whole sync) may flow; the values are the YAML's spellings."""

    TWO_WAY = "two-way"
    TO_CRM = "to_crm"
    TO_EXTERNAL = "to_external"

    def allows(self, towards: Side) -> bool:
        """Whether a value may be written *to* ``towards``."""
        if self is Direction.TWO_WAY:
            return True
        return (self is Direction.TO_CRM) == (towards is Side.CRM)

    @property
    def to_crm(self) -> bool:
        """Whether external values flow into the CRM."""
        return self is not Direction.TO_EXTERNAL

    @property
    def to_external(self) -> bool:
        """Whether CRM values flow out to the external system."""
        return self is not Direction.TO_CRM

    def within(self, sync: Direction) -> Direction | None:
        """How a field flowing this way really flows in a sync flowing ``sync``: never wider
        than its sync (a ``to_crm`` sync writes nothing outside); None when it cannot flow
        at all (a ``to_external`` field in a ``to_crm`` sync)."""
        if sync is Direction.TWO_WAY:
            return self
        if self is Direction.TWO_WAY or self is sync:
            return sync
        return None
