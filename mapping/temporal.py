"""Dates and datetimes in an external format and zone <-> the CRM's canonical forms.

The CRM keeps dates as ``YYYY-MM-DD`` and datetimes as UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``.
External systems use their own ``strftime`` formats and often local wall time; naming the
zone (``Europe/Berlin``) rather than an offset keeps daylight saving right all year.

Both are invertible on the CRM domain, with two honest limits: a datetime format without
``%f`` drops milliseconds, and a local wall-time format without ``%z`` cannot tell apart the
two instants of the hour repeated when clocks go back (it reads the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mapping.base import Transform, option_error

__all__ = ["DateFormat", "DateTimeFormat"]

_MAX_TEXT = 100


def _strftime(moment: date, fmt: str) -> str:
    # glibc writes year 999 as "999", which %Y cannot read back: always write four digits.
    if "%Y" in fmt and "%%" not in fmt:
        fmt = fmt.replace("%Y", f"{moment.year:04d}")
    return moment.strftime(fmt)


def _check_format(transform: str, fmt: object) -> None:
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        raise option_error(
            transform, "format", f"must be a strftime format such as %d.%m.%Y, got {fmt!r}"
        )


@dataclass(frozen=True)
class DateFormat(Transform):
    """``31.12.2024`` (``format: "%d.%m.%Y"``) <-> ``2024-12-31``; None format means ISO."""

    format: str | None = None
    name = "date"
    reads = frozenset({"text", "date"})
    writes = frozenset({"date"})

    def __post_init__(self) -> None:
        _check_format(self.name, self.format)

    @property
    def invertible(self) -> bool:
        return True

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            self.fail(value, "expected a date, got a date and time")
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            self.fail(value, f"expected a date as {self.format or 'YYYY-MM-DD'}")
        try:
            if self.format is None:
                return date.fromisoformat(value.strip()).isoformat()
            return datetime.strptime(value.strip(), self.format).date().isoformat()  # noqa: DTZ007
        except ValueError:
            self.fail(value, f"not a date in the format {self.format or 'YYYY-MM-DD'}")

    def to_external(self, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(value, "expected a CRM date YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(value, "not a CRM date YYYY-MM-DD")
        return day.isoformat() if self.format is None else _strftime(day, self.format)


@dataclass(frozen=True)
class DateTimeFormat(Transform):
    """External date-times in ``format`` (ISO 8601 when None) and zone ``timezone``.

    A value without an offset is wall time in ``timezone``; one with an offset is that
    instant. Going out, the CRM instant is shown in ``timezone``.
    """

    format: str | None = None
    timezone: str = "UTC"
    name = "datetime"
    reads = frozenset({"text", "datetime"})
    writes = frozenset({"datetime"})

    def __post_init__(self) -> None:
        _check_format(self.name, self.format)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise option_error(
                self.name,
                "timezone",
                f"must be an IANA zone such as Europe/Berlin, got {self.timezone!r}",
            ) from None

    @property
    def invertible(self) -> bool:
        return True

    @property
    def zone(self) -> tzinfo:
        """The configured zone (zoneinfo caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)

    def to_crm(self, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str) and len(value) <= _MAX_TEXT:
            moment = self._parse(value)
        else:
            self.fail(value, f"expected a date and time as {self.format or 'ISO 8601'}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=self.zone)
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:
            self.fail(value, "out of range in UTC (years 1 to 9999)")
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _parse(self, text: str) -> datetime:
        try:
            if self.format is None:
                return datetime.fromisoformat(text.strip())
            return datetime.strptime(text.strip(), self.format)  # noqa: DTZ007 - zone added after
        except ValueError:
            self.fail(text, f"not a date and time in the format {self.format or 'ISO 8601'}")

    def to_external(self, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            self.fail(value, "expected a CRM datetime YYYY-MM-DDTHH:MM:SS.mmmZ")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(value, "not a CRM datetime YYYY-MM-DDTHH:MM:SS.mmmZ")
        if moment.tzinfo is None:
            self.fail(value, "a CRM datetime must end in Z")
        try:
            local = moment.astimezone(self.zone)
        except OverflowError:
            self.fail(value, f"out of range in {self.timezone}")
        if self.format is None:
            return local.isoformat(timespec="milliseconds")
        return _strftime(local, self.format)
