"""One external field <-> several CRM properties: ``full_name`` <-> ``firstname`` + ``lastname``.

Splitting cuts at the first ``separator`` (or the last, with ``from_right``), so a double
surname stays whole in the last part; ``parts`` is the number of CRM properties. Joining
writes the non-empty parts with the separator. The pair is invertible on parts that are
non-empty, have no surrounding space, and (all but the last, or first) hold no separator.
"""

from __future__ import annotations

from dataclasses import dataclass

from mapping.base import Transform, option_error

__all__ = ["SplitJoin"]

_MAX_TEXT = 65_536


@dataclass(frozen=True)
class SplitJoin(Transform):
    """``"Ada King Lovelace"`` -> ``("Ada", "King Lovelace")`` and back."""

    separator: str = " "
    parts: int = 2
    from_right: bool = False
    name = "split"
    writes = frozenset({"string"})

    def __post_init__(self) -> None:
        if not isinstance(self.separator, str) or not self.separator:
            raise option_error(self.name, "separator", "must be non-empty text")
        if isinstance(self.parts, bool) or not isinstance(self.parts, int) or self.parts < 2:
            raise option_error(
                self.name, "parts", f"must be a whole number of at least 2, got {self.parts!r}"
            )

    @property
    def arity(self) -> int:  # type: ignore[override] # configured per instance
        return self.parts

    @property
    def invertible(self) -> bool:
        return True

    def to_crm(self, value: object) -> object:
        if value is None:
            return (None,) * self.parts
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            self.fail(value, "expected text to split")
        text = value.strip()
        cut = self.parts - 1
        pieces = (
            text.rsplit(self.separator, cut) if self.from_right else text.split(self.separator, cut)
        )
        pieces = [piece.strip() for piece in pieces]
        pieces += [""] * (self.parts - len(pieces))
        return tuple(piece or None for piece in pieces)

    def to_external(self, value: object) -> object:
        if not isinstance(value, tuple) or len(value) != self.parts:
            self.fail(value, f"expected {self.parts} values to join")
        if not all(part is None or isinstance(part, str) for part in value):
            self.fail(value, "expected text values to join")
        joined = self.separator.join(part for part in value if part)
        return joined or None
