"""Property values: checked against their definition and brought to one canonical string.

Every value is stored as the string HubSpot would send for it, so two writers of the same
value store the same bytes and a sync comparing values never sees a difference that is only
formatting: numbers without trailing zeros, dates ``YYYY-MM-DD``, datetimes in UTC with
milliseconds and ``Z``, booleans ``true``/``false``, checkbox values ``;``-joined.

What cannot be read is a ``ValidationError`` naming object, property, value and rule; nothing
is ever guessed. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import phonenumbers

from store.errors import ValidationError
from store.models import PropertyDef

__all__ = [
    "MAX_VALUE_LENGTH",
    "canonical_value",
    "format_datetime",
    "is_plain_text",
    "is_plain_value",
    "normalise_domain",
    "parse_datetime",
    "unique_key",
]

MAX_VALUE_LENGTH = 65_536  # HubSpot's limit for a string property value
_MAX_NUMBER_LENGTH = 60
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$")
_EPOCH_MS = re.compile(r"^-?\d{1,15}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s;,<>()\[\]\\\"]+@[^@\s;,<>()\[\]\\\"]+\.[^@\s;,<>()\[\]\\\".]+$")
_DOMAIN = re.compile(r"^[^\s/:@?#]+\.[^\s/:@?#.]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIQUE_KEY_MAX = 255
_CHECKED_FORMATS = ("email", "domain")  # the string formats ``_string`` checks


def canonical_value(
    object_name: str, prop: PropertyDef, raw: object, *, current: str | None = None
) -> str | None:
    """The canonical stored form of ``raw`` for ``prop``, or None to clear the value.

    ``current`` is the value stored now; a checkbox value starting with ``;`` adds to it
    instead of replacing it, as in HubSpot's API.
    """
    if type(raw) is str and is_plain_text(prop) and is_plain_value(raw):
        # Plain ASCII text for a plain string property: every check below would pass and
        # hand it back as it is. The common case of every sync and import, so kept short.
        return raw

    def refuse(rule: str) -> ValidationError:
        return ValidationError(object_name, prop.name, raw, rule)

    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        if len(raw) > MAX_VALUE_LENGTH:
            raise refuse(f"longer than {MAX_VALUE_LENGTH} characters ({len(raw)})")
        if "\x00" in raw:
            raise refuse("contains a NUL character")
        if not raw.isascii() and not _is_utf8(raw):
            raise refuse("not valid Unicode text (a lone surrogate)")
    kind = prop.type
    if kind == "string":
        return _string(prop, raw, refuse)
    if kind == "number":
        return _number(raw, refuse)
    if kind == "bool":
        return _bool(raw, refuse)
    if kind == "date":
        return _date(raw, refuse)
    if kind == "datetime":
        return format_datetime(parse_datetime(raw, refuse))
    if kind == "enumeration":
        return _enumeration(prop, raw, current, refuse)
    raise refuse(f"property type {kind!r} is unknown")


def is_plain_text(prop: PropertyDef) -> bool:
    """Whether ``prop`` takes any text as it is (no format, options or number to check)."""
    return (
        prop.type == "string"
        and prop.format not in _CHECKED_FORMATS
        and prop.field_type != "phonenumber"
    )


def is_plain_value(raw: str) -> bool:
    """Whether text is stored as given by a plain text property (see ``is_plain_text``)."""
    return raw.isascii() and 0 < len(raw) <= MAX_VALUE_LENGTH and "\x00" not in raw


# The closure each check raises through: it knows the object, property and raw value.
_Refuse = Callable[[str], ValidationError]


def _string(prop: PropertyDef, raw: object, refuse: _Refuse) -> str:
    if not isinstance(raw, str):
        raise refuse(f"expected text, got {type(raw).__name__}")
    if prop.format == "email" and not _EMAIL.match(raw):
        raise refuse("not an email address (name@example.com)")
    if prop.format == "domain" and not _DOMAIN.match(normalise_domain(raw)):
        raise refuse("not a domain name (example.com)")
    if prop.field_type == "phonenumber":
        _check_phone(raw, refuse)
    return raw


def _check_phone(raw: str, refuse: _Refuse) -> None:
    # Numbers without a country code are read as North American, HubSpot's default portal.
    try:
        parsed = phonenumbers.parse(raw, None if raw.lstrip().startswith("+") else "US")
    except phonenumbers.NumberParseException as exc:
        raise refuse(f"not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise refuse("not a possible phone number for its country")


def _number(raw: object, refuse: _Refuse) -> str:
    if isinstance(raw, bool):
        raise refuse("expected a number, got a boolean")
    if isinstance(raw, int | Decimal):
        number = Decimal(raw)
    elif isinstance(raw, float):
        number = Decimal(repr(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if not _NUMBER.match(text):
            raise refuse("expected a number such as 42 or -3.5 (a dot for decimals)")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid ones
            raise refuse("expected a number") from None
    else:
        raise refuse(f"expected a number, got {type(raw).__name__}")
    if not number.is_finite():
        raise refuse("expected a finite number")
    if number == 0:
        return "0"
    # Exact: Decimal.normalize() would round to the context's 28 digits.
    too_long = abs(number.adjusted()) >= _MAX_NUMBER_LENGTH
    shown = "" if too_long else format(number, "f")
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    if too_long or len(shown) > _MAX_NUMBER_LENGTH:
        raise refuse(f"number has more than {_MAX_NUMBER_LENGTH} digits")
    return shown


def _bool(raw: object, refuse: _Refuse) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower()
    raise refuse("expected true or false")


def _date(raw: object, refuse: _Refuse) -> str:
    if isinstance(raw, datetime):
        raise refuse("expected a date (YYYY-MM-DD), got a date and time")
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise refuse(f"expected a date (YYYY-MM-DD), got {type(raw).__name__}")
    text = raw.strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise refuse("not a calendar date (YYYY-MM-DD)") from None
    if _EPOCH_MS.match(text):
        instant = _epoch_ms(text, refuse)
        if instant.time() != datetime.min.time():
            raise refuse("epoch milliseconds for a date must fall on midnight UTC")
        return instant.date().isoformat()
    raise refuse("expected a date as YYYY-MM-DD or epoch milliseconds")


def parse_datetime(raw: object, refuse: _Refuse) -> datetime:
    """An aware UTC instant from a datetime, ISO 8601 text with an offset, or epoch ms."""
    if isinstance(raw, datetime):
        if raw.tzinfo is None or raw.utcoffset() is None:
            raise refuse("datetime has no time zone; give an offset or Z")
        return _to_utc(raw, refuse)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise refuse(f"expected a date and time, got {type(raw).__name__}")
    text = raw.strip()
    if _EPOCH_MS.match(text):
        return _epoch_ms(text, refuse)
    if _DATE.match(text):
        raise refuse("expected a date and time with a zone, e.g. 2024-05-01T09:30:00Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise refuse("expected ISO 8601 such as 2024-05-01T09:30:00Z or epoch ms") from None
    if parsed.tzinfo is None:
        raise refuse("datetime has no time zone; add Z or an offset such as +02:00")
    return _to_utc(parsed, refuse)


def _epoch_ms(text: str, refuse: _Refuse) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=int(text))
    except OverflowError:
        raise refuse("epoch milliseconds out of range (years 1 to 9999)") from None


def _to_utc(value: datetime, refuse: _Refuse) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise refuse("out of range in UTC (years 1 to 9999)") from None


def format_datetime(value: datetime) -> str:
    """``2024-05-01T09:30:00.123Z``: UTC, milliseconds, the year always four digits."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _enumeration(
    prop: PropertyDef, raw: object, current: str | None, refuse: _Refuse
) -> str | None:
    if isinstance(raw, bool) and prop.field_type == "booleancheckbox":
        raw = "true" if raw else "false"
    if not isinstance(raw, str):
        raise refuse(f"expected an option value, got {type(raw).__name__}")
    allowed = prop.option_values
    if prop.field_type == "checkbox":
        appending = raw.startswith(";")
        chosen = [part.strip() for part in raw.split(";") if part.strip()]
        if appending and current:
            chosen = current.split(";") + chosen
        unknown = [value for value in chosen if value not in allowed]
        if unknown:
            raise refuse(f"{unknown[0]!r} is not an option; options: {_list(allowed)}")
        return ";".join(dict.fromkeys(chosen)) or None
    if raw not in allowed:
        raise refuse(f"not an option; options: {_list(allowed)}")
    return raw


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _list(values: frozenset[str]) -> str:
    if not values:
        return "(none defined)"
    shown = sorted(values)
    return ", ".join(shown[:12]) + (f", ... ({len(shown)} in all)" if len(shown) > 12 else "")


def normalise_domain(value: str) -> str:
    """``https://www.Example.com/about`` and ``example.com`` are the same company domain."""
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0]
    if text.startswith("www."):
        text = text[4:]
    return text.rstrip(".")


def unique_key(prop: PropertyDef, value: str) -> str:
    """The key two values share when they count as the same for dedupe."""
    key = normalise_domain(value) if prop.format == "domain" else value.strip().casefold()
    if len(key) > _UNIQUE_KEY_MAX:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key
