"""Errors of the conflict package: a field state the resolver cannot reason about.

    SyncdError
    ├── ConfigError                     (syncd.errors)
    │   ├── UnknownRuleError            a conflict rule name that is not one of ours
    │   └── UnknownDirectionError       a field direction that is not one of ours
    └── UsageError                      (syncd.errors)
        └── InvalidFieldStateError      a naive time, or one field given twice in a record

Each is also a ``ValueError``: the resolver was handed a bad value, and callers that do not
know syncd's tree (a YAML validator, pydantic) still catch it as one. A rule or direction
comes from the configuration, so a bad one is a config error (stop at start, fix the file);
a naive time or a duplicate field is the engine's bug in calling us, never the record's fault.
"""

from __future__ import annotations

from syncd.errors import ConfigError, UsageError

__all__ = ["InvalidFieldStateError", "UnknownDirectionError", "UnknownRuleError"]


class UnknownRuleError(ConfigError, ValueError):
    """``rule`` names no conflict rule; ``valid`` lists the ones that exist."""

    def __init__(self, rule: object, *, valid: tuple[str, ...], field: str | None = None) -> None:
        self.rule = rule
        self.valid = valid
        self.field = field
        where = f"field {field!r}: " if field else ""
        super().__init__(
            f"{where}unknown conflict rule {rule!r}; expected one of {', '.join(valid)}",
            rule=rule,
            valid=valid,
            field=field,
        )


class UnknownDirectionError(ConfigError, ValueError):
    """``direction`` names no sync direction; ``valid`` lists the ones that exist."""

    def __init__(self, direction: object, *, valid: tuple[str, ...], field: str) -> None:
        self.direction = direction
        self.valid = valid
        self.field = field
        super().__init__(
            f"field {field!r}: unknown direction {direction!r}; expected one of {', '.join(valid)}",
            direction=direction,
            valid=valid,
            field=field,
        )


class InvalidFieldStateError(UsageError, ValueError):
    """The engine handed the resolver something it must never hand it (a bug upstream)."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(f"field {field!r}: {message}", field=field)
