"""Text clean-ups: case, whitespace and phone numbers.

None of these is invertible: the original spelling is gone once lowercased, trimmed or
formatted, so the way back is the identity and the external system receives the CRM's
cleaned value. That is what we want for emails and phone numbers: one spelling on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from mapping.base import Transform, option_error

__all__ = ["E164", "Lowercase", "Trim", "Uppercase"]


class _TextTransform(Transform):
    """Reads text only: a number or a list where text belongs is the record's mistake."""

    canonical = True
    writes: frozenset[str] | None = frozenset({"string", "enumeration"})

    def text(self, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(value, f"expected text, got {type(value).__name__}")
        return value

    def to_external(self, value: object) -> object:
        return value


@dataclass(frozen=True)
class Lowercase(_TextTransform):
    """``Ada@Example.COM`` -> ``ada@example.com``; the way back is the identity."""

    name = "lowercase"

    def to_crm(self, value: object) -> object:
        text = self.text(value)
        return None if text is None else text.lower()


@dataclass(frozen=True)
class Uppercase(_TextTransform):
    """``de`` -> ``DE``; the way back is the identity."""

    name = "uppercase"

    def to_crm(self, value: object) -> object:
        text = self.text(value)
        return None if text is None else text.upper()


@dataclass(frozen=True)
class Trim(_TextTransform):
    """Strips surrounding whitespace; blank becomes None (cleared). The way back is identity."""

    name = "trim"

    def to_crm(self, value: object) -> object:
        text = self.text(value)
        if text is None:
            return None
        return text.strip() or None


@dataclass(frozen=True)
class E164(_TextTransform):
    """A phone number in E.164 (``+4930123456``); numbers without ``+`` use ``region``.

    The way back is the identity: E.164 is read by every system we sync with.
    """

    region: str = "US"
    name = "e164"
    writes = frozenset({"string"})

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or self.region.upper() not in _REGIONS:
            raise option_error(
                self.name,
                "region",
                f"must be a two-letter region such as US or DE, got {self.region!r}",
            )
        object.__setattr__(self, "region", self.region.upper())

    def to_crm(self, value: object) -> object:
        text = self.text(value)
        if text is None or not text.strip():
            return None
        if len(text) > 64:
            self.fail(value, "too long for a phone number")
        try:
            number = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException as exc:
            self.fail(value, f"not a phone number ({exc})")
        if not phonenumbers.is_possible_number(number):
            self.fail(value, "not a possible phone number for its country")
        formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return formatted


_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
