"""Enumeration value maps: external option values <-> CRM option values.

The map is written external -> CRM (``{active: customer, prospect: lead}``); the way back is
its reverse. Where several external values map to one CRM value, the first listed is written
back and the map is not invertible. A value missing from the map follows ``unmapped``:

- ``error``   the record is refused (the default: a new option upstream should be noticed);
- ``skip``    the field is left out of this record, other fields still sync;
- ``default`` ``default`` is written to the CRM (``external_default`` on the way back;
  without one, an unmapped CRM value is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mapping.base import SKIP, Transform, option_error

__all__ = ["EnumMap"]

Unmapped = Literal["error", "skip", "default"]
_RULES = ("error", "skip", "default")


def _key(value: object) -> str | None:
    # YAML reads ``1:`` as a number and ``yes:`` as a boolean; match them by their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return None


@dataclass(frozen=True)
class EnumMap(Transform):
    """Maps option values one by one, both ways; see the module docstring for ``unmapped``."""

    values: tuple[tuple[str, str], ...] | Mapping[Any, object] = ()
    unmapped: Unmapped = "error"
    default: str | None = None
    external_default: str | None = None
    _pairs: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False)
    _reverse: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    name = "enum"
    reads = frozenset({"text", "number", "boolean"})
    writes = frozenset({"enumeration", "string", "bool"})

    def __post_init__(self) -> None:
        pairs = self.values.items() if isinstance(self.values, Mapping) else self.values
        checked: list[tuple[str, str]] = []
        for pair in pairs:
            external, crm = pair
            key = _key(external)
            if key is None or not isinstance(crm, str):
                raise option_error(
                    self.name, "values", f"must map text to text, got {external!r}: {crm!r}"
                )
            checked.append((key, crm))
        if not checked:
            raise option_error(self.name, "values", "must map at least one value")
        if self.unmapped not in _RULES:
            raise option_error(
                self.name, "unmapped", f"must be one of {', '.join(_RULES)}, got {self.unmapped!r}"
            )
        if self.unmapped == "default" and self.default is None:
            raise option_error(self.name, "default", "is required when unmapped is default")
        object.__setattr__(self, "values", tuple(checked))
        object.__setattr__(self, "_pairs", tuple(checked))
        for external, crm in checked:
            self._reverse.setdefault(crm, external)

    @property
    def invertible(self) -> bool:
        return len(self._reverse) == len(self._pairs)

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return None
        key = _key(value)
        if key is not None:
            for external, crm in self._pairs:
                if external == key:
                    return crm
        if key is None and self.unmapped == "error":
            self.fail(value, f"expected an option value, got {type(value).__name__}")
        return self._unmapped(value, self.default, [e for e, _ in self._pairs])

    def to_external(self, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str) and value in self._reverse:
            return self._reverse[value]
        return self._unmapped(value, self.external_default, list(self._reverse))

    def _unmapped(self, value: object, default: str | None, known: list[str]) -> object:
        if self.unmapped == "skip":
            return SKIP
        if self.unmapped == "default" and default is not None:
            return default
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        self.fail(value, f"not a mapped value; mapped: {shown}")
