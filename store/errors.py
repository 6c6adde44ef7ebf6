"""Errors of the record store, each placed under the root by what the caller must do.

    SyncdError
    ├── UsageError
    │   └── StoreError
    │       ├── SchemaError            a definition change was refused (built-in, in use, bad)
    │       └── NotMigratedError       the database schema is not at this version's head
    └── RecordError
        └── RecordWriteError
            ├── NotFoundError          no such object, property or record
            ├── ValidationError        a value does not fit its property definition
            ├── DuplicateError         a unique value is already held by another record
            └── BatchError             an atomic batch refused: every failing input listed

Record errors are per record: a sync logs and counts them and goes on with the rest.
"""

from __future__ import annotations

from typing import Any

from syncd.errors import RecordError, UsageError

__all__ = [
    "BatchError",
    "DuplicateError",
    "NotFoundError",
    "NotMigratedError",
    "RecordWriteError",
    "SchemaError",
    "StoreError",
    "ValidationError",
]


class StoreError(UsageError):
    """The store refused an operation on its definitions or its database."""


class SchemaError(StoreError):
    """An object, property, group or label definition change was refused."""


class NotMigratedError(StoreError):
    """The database schema is older (or newer) than this version of syncd expects."""


class RecordWriteError(RecordError):
    """A read or write of records was refused; nothing of that write was stored."""


class NotFoundError(RecordWriteError):
    """No such object, property or record (archived ones count as absent unless asked)."""


class ValidationError(RecordWriteError):
    """A value does not satisfy its property's definition."""

    def __init__(
        self, object_name: str, property_name: str, value: Any, rule: str, **data: Any
    ) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"{object_name}.{property_name}: {shown} is not valid: {rule}",
            object=object_name,
            property=property_name,
            rule=rule,
            **data,
        )
        self.object_name = object_name
        self.property_name = property_name
        self.value = value
        self.rule = rule


class DuplicateError(RecordWriteError):
    """A unique property value is already held by another live record."""

    def __init__(self, object_name: str, property_name: str, value: str, existing_id: int) -> None:
        super().__init__(
            f"{object_name}.{property_name}: {value!r} already belongs to record {existing_id}",
            object=object_name,
            property=property_name,
            existing_id=existing_id,
        )
        self.object_name = object_name
        self.property_name = property_name
        self.value = value
        self.existing_id = existing_id


class BatchError(RecordWriteError):
    """An all-or-nothing batch was refused; ``failures`` maps input index to its error."""

    def __init__(self, failures: list[tuple[int, Exception]]) -> None:
        first_index, first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(
            f"batch refused, nothing written: input {first_index}: {first}{more}",
            failures=len(failures),
        )
        self.failures = failures
