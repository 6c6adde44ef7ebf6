"""Errors of the mapping package: one record's value could not be mapped.

    SyncdError
    ├── ConfigError                (syncd.errors)
    │   └── MappingConfigError     a transform or field mapping is configured wrong; ``key``
    │                              names the setting at fault
    └── RecordError
        └── MappingError       one value of one record cannot be read by its transform

A value that a transform cannot read is the record's fault, not ours: the engine logs it,
counts it and goes on with the rest of the batch, so it must never surface as a crash.
"""

from __future__ import annotations

from typing import Any

from syncd.errors import ConfigError, RecordError

__all__ = ["MappingConfigError", "MappingError", "shown"]

_SHOWN_MAX = 120


def shown(value: object) -> str:
    """``repr(value)`` cut short, so a hostile megabyte value never floods a log line."""
    text = repr(value)
    if len(text) > _SHOWN_MAX:
        return f"{text[:_SHOWN_MAX]}... ({len(text)} characters)"
    return text


class MappingError(RecordError):
    """``value`` of external field / CRM property ``field`` cannot pass ``transform``.

    Transforms raise it without ``field`` (they do not know where a value came from); the
    mapping functions fill it in with :meth:`for_field`. ``value`` is kept shortened.
    """

    def __init__(self, reason: str, *, value: object, transform: str, field: str | None = None):
        self.reason = reason
        self.field = field
        self.value = shown(value) if isinstance(value, str | bytes) and len(value) > 200 else value
        self.transform = transform
        where = f"field {field!r}: " if field else ""
        super().__init__(
            f"{where}{transform} cannot map {shown(value)}: {reason}",
            field=field,
            value=self.value,
            transform=transform,
        )

    def for_field(self, field: str) -> MappingError:
        """The same error, now naming the field the value belongs to."""
        return MappingError(self.reason, value=self.value, transform=self.transform, field=field)


class MappingConfigError(ConfigError):
    """A field mapping or transform configured wrong, with the setting at fault as data.

    ``key`` is where in one field's settings the mistake is: ``("crm",)``, ``("external",)``,
    ``("direction",)``, ``("transform",)`` (an unknown name), ``("options",)`` (an unknown
    option) or ``("options", NAME)`` (a bad value of option NAME). ``config`` turns it into
    the YAML key (and so file:line:col) without reading the message.
    """

    def __init__(self, message: str, *, key: tuple[str, ...], **data: Any) -> None:
        super().__init__(message, key=key, **data)
        self.key = key
