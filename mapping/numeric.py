"""Numbers with any decimal and grouping marks, and booleans spelt as words.

The CRM keeps numbers as plain decimals (``1234.5``: dot, no grouping, no trailing zeros) and
booleans as ``true``/``false``. A malformed grouping such as ``1,2,3`` is refused, never
guessed: reading it as 123 or 1.23 would silently corrupt amounts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mapping.base import Transform, canonical_decimal, option_error

__all__ = ["Boolean", "Number"]

_MAX_TEXT = 100
_CANONICAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True)
class Number(Transform):
    """``1.234,5`` (``decimal: ","``, ``thousands: "."``) <-> ``1234.5``.

    Going out, the decimal mark is ``decimal`` and no grouping is written (every reader
    accepts ungrouped numbers). Invertible on canonical CRM numbers.
    """

    decimal: str = "."
    thousands: str | None = None
    name = "number"
    reads = frozenset({"text", "number"})
    writes = frozenset({"number"})

    def __post_init__(self) -> None:
        if self.decimal not in (".", ","):
            raise option_error(self.name, "decimal", f"must be '.' or ',', got {self.decimal!r}")
        if self.thousands not in (None, ",", ".", " ", "'", "\u00a0", "_"):
            raise option_error(
                self.name,
                "thousands",
                f"must be one of , . ' space or none, got {self.thousands!r}",
            )
        if self.thousands == self.decimal:
            raise option_error(self.name, "thousands", "must differ from the decimal mark")

    @property
    def invertible(self) -> bool:
        return True

    @property
    def _pattern(self) -> re.Pattern[str]:
        dec = re.escape(self.decimal)
        # [0-9], not \d: other scripts' digits are not a number format we were told of.
        plain = r"[0-9]+"
        if self.thousands is not None:
            plain = rf"(?:[0-9]{{1,3}}(?:{re.escape(self.thousands)}[0-9]{{3}})+|[0-9]+)"
        return re.compile(rf"^[+-]?{plain}(?:{dec}[0-9]+)?$")

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.fail(value, "expected a number, got a boolean")
        if isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str) and len(value) <= _MAX_TEXT:
            text = value.strip()
            if not self._pattern.match(text):
                self.fail(
                    value,
                    f"not a number with decimal mark {self.decimal!r}"
                    + (f" and grouping {self.thousands!r}" if self.thousands else ""),
                )
            if self.thousands:
                text = text.replace(self.thousands, "")
            try:
                number = Decimal(text.replace(self.decimal, "."))
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                self.fail(value, "not a number")
        else:
            self.fail(value, f"expected a number, got {type(value).__name__}")
        try:
            return canonical_decimal(number)
        except ValueError as exc:
            self.fail(value, str(exc))

    def to_external(self, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str) or not _CANONICAL.match(value):
            self.fail(value, "expected a CRM number such as -1234.5")
        return value.replace(".", self.decimal)


@dataclass(frozen=True)
class Boolean(Transform):
    """``yes``/``no`` (or any words, numbers, real booleans) <-> ``true``/``false``.

    The first word of each list is what is written out; text is matched without regard to
    case and surrounding space, and real booleans are always read. Invertible on
    ``true``/``false``.
    """

    true: Sequence[str | int | bool] = ("yes", "true", "1")
    false: Sequence[str | int | bool] = ("no", "false", "0")
    name = "boolean"
    reads = frozenset({"text", "number", "boolean"})
    writes = frozenset({"bool"})

    def __post_init__(self) -> None:
        for option in ("true", "false"):
            words = getattr(self, option)
            if isinstance(words, str | int):
                words = (words,)
            if (
                not isinstance(words, Sequence)
                or not words
                or not all(isinstance(word, str | int) for word in words)
            ):
                raise option_error(
                    self.name, option, "must be a non-empty list of words or numbers"
                )
            object.__setattr__(self, option, tuple(words))
        if {_key(w) for w in self.true} & {_key(w) for w in self.false}:
            raise option_error(self.name, "false", "shares a word with 'true'")

    @property
    def invertible(self) -> bool:
        return True

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, bool):  # a real boolean is unambiguous, whatever the words
            return "true" if value else "false"
        if not isinstance(value, str | int) or (isinstance(value, str) and len(value) > _MAX_TEXT):
            self.fail(value, f"expected a boolean, got {type(value).__name__}")
        key = _key(value)
        if key in {_key(w) for w in self.true}:
            return "true"
        if key in {_key(w) for w in self.false}:
            return "false"
        self.fail(value, f"not one of {list(self.true)} (true) or {list(self.false)} (false)")

    def to_external(self, value: object) -> object:
        if value == "true":
            return self.true[0]
        if value == "false":
            return self.false[0]
        if value is None:
            return None
        self.fail(value, "expected a CRM boolean true or false")


def _key(word: str | int | bool) -> tuple[str, str]:
    # True == 1 in Python; keying by kind keeps a real boolean apart from the number 1,
    # while the number 1 and the text "1" (YAML reads both) are the same word.
    if isinstance(word, bool):
        return ("bool", str(word))
    return ("text", str(word).strip().casefold())
