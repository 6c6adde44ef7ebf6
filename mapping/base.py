"""The transform contract, and the transforms that need no parsing.

A :class:`Transform` turns one external value into its CRM form (``to_crm``) and back
(``to_external``). CRM forms are the canonical strings the store keeps (see
``store/values.py``), or ``None`` to clear a value, so that a value we wrote and read back
compares equal to the base and the two sides never ping-pong.

``invertible`` says whether ``to_crm(to_external(x)) == x`` holds for every canonical CRM
value ``x`` of the transform's domain; transforms that lose information (case, whitespace)
are not invertible and pass values back to the external side unchanged.

Returning :data:`SKIP` means "leave this field out of this record", which the enumeration
map's ``skip`` rule needs. Transforms are frozen dataclasses: pure, hashable, no clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final, NoReturn

from mapping.errors import MappingConfigError, MappingError

__all__ = [
    "SKIP",
    "VALUE_KINDS",
    "Constant",
    "Default",
    "Identity",
    "Skip",
    "Transform",
    "canonical_decimal",
    "option_error",
]


class Skip(Enum):
    """The type of :data:`SKIP`."""

    SKIP = "skip"


SKIP: Final = Skip.SKIP
#: What an external value can be, as transforms declare in ``Transform.reads`` (JSON's
#: scalars, and the dates and times a database driver hands over).
VALUE_KINDS: Final = frozenset({"text", "number", "boolean", "date", "datetime"})
_SCALARS: Final = frozenset({"text", "number", "boolean"})
_MAX_NUMBER_LENGTH = 60


class Transform(ABC):
    """Turns an external value into its canonical CRM string and back."""

    name: str = "transform"
    #: How many CRM properties one external field feeds (2 for full name -> first + last).
    arity: int = 1
    #: Whether ``to_crm`` is called for an external field that is absent from the record.
    fills_missing: bool = False
    #: Whether ``to_crm`` is a clean-up to one spelling (case, whitespace, phone format)
    #: whose way back is the identity: both sides should then hold that one spelling, so a
    #: value spelled otherwise on either side is rewritten with it (``mapping.canonical``).
    canonical: bool = False
    #: The kinds of external value ``to_crm`` reads (others are the record's error), from
    #: :data:`VALUE_KINDS`; empty for a transform that ignores what the external side holds.
    reads: frozenset[str] = frozenset({"text"})
    #: The CRM property types ``to_crm``'s values can be stored in; None for text passed
    #: through as it came (the store checks it against the property's type). ``syncd check``
    #: reads this to refuse, say, a ``date`` transform into a number property.
    writes: frozenset[str] | None = None

    @property
    def invertible(self) -> bool:
        """True when ``to_crm(to_external(x)) == x`` on the transform's canonical domain."""
        return False

    @abstractmethod
    def to_crm(self, value: object) -> object:
        """The CRM form of an external value; raises :class:`MappingError` if unreadable."""

    @abstractmethod
    def to_external(self, value: object) -> object:
        """The external form of a CRM value; raises :class:`MappingError` if unreadable."""

    def fail(self, value: object, reason: str) -> NoReturn:
        """Refuse ``value`` as a record error naming this transform."""
        raise MappingError(reason, value=value, transform=self.name)


def canonical_decimal(number: Decimal) -> str:
    """The store's number form: plain digits, no exponent, no trailing zeros, ``0`` for zero.

    Raises ``ValueError`` for infinities, NaN and numbers of more than 60 digits.
    """
    if not number.is_finite():
        raise ValueError("expected a finite number")
    if number == 0:
        return "0"
    if abs(number.adjusted()) >= _MAX_NUMBER_LENGTH:
        raise ValueError(f"number has more than {_MAX_NUMBER_LENGTH} digits")
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > _MAX_NUMBER_LENGTH:
        raise ValueError(f"number has more than {_MAX_NUMBER_LENGTH} digits")
    return text


@dataclass(frozen=True)
class Identity(Transform):
    """A plain rename: text passes as is; JSON scalars become their canonical strings.

    Structured values (lists, objects) are refused: a CRM property holds one scalar.
    """

    name = "identity"
    reads = _SCALARS

    @property
    def invertible(self) -> bool:
        return True

    def to_crm(self, value: object) -> object:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal):
            try:
                return canonical_decimal(
                    Decimal(repr(value) if isinstance(value, float) else value)
                )
            except ValueError as exc:
                self.fail(value, str(exc))
        self.fail(value, f"expected text or a number, got {type(value).__name__}")

    def to_external(self, value: object) -> object:
        return value


@dataclass(frozen=True)
class Constant(Transform):
    """Always writes ``value`` to the CRM, whatever (or whether) the external side sends.

    Use it with ``direction: to_crm``; on the way out it returns the CRM value unchanged.
    """

    value: str | None = None
    name = "constant"
    fills_missing = True
    reads = frozenset()

    def __post_init__(self) -> None:
        _check_text_option(self.name, "value", self.value)

    def to_crm(self, value: object) -> object:
        return self.value

    def to_external(self, value: object) -> object:
        return value


@dataclass(frozen=True)
class Default(Transform):
    """Writes ``value`` when the external field is absent, null or empty; else passes it on."""

    value: str | None = None
    name = "default"
    fills_missing = True
    reads = _SCALARS

    def __post_init__(self) -> None:
        _check_text_option(self.name, "value", self.value)

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return self.value
        return Identity().to_crm(value)

    def to_external(self, value: object) -> object:
        return value


def option_error(transform: str, option: str, reason: str) -> MappingConfigError:
    """A bad transform option: stop at start and name the transform, option and rule."""
    return MappingConfigError(
        f"transform {transform}: option {option!r} {reason}",
        key=("options", option),
        transform=transform,
        option=option,
    )


def _check_text_option(transform: str, option: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise option_error(transform, option, f"must be text, got {type(value).__name__}")
