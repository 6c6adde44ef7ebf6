"""Errors of the record store, each placed under the root by what the caller must do.

    SyncdError
    ├── UsageError
    │   ├── StoreError
    │   │   ├── SchemaError            a definition change was refused (built-in, in use, bad)
    │   │   ├── NotMigratedError       the database schema is not at this version's head
    │   │   ├── LinkConflictError      one CRM record would be linked to two external ones
    │   │   ├── LeaseLostError         this process lost its sync's lease: nothing commits
    │   │   └── ApiTokenError          a token refused: bad name or scope, name taken
    │   └── CsvFileError               a CSV file cannot be imported as a whole
    └── RecordError
        └── RecordWriteError
            ├── NotFoundError          no such object, property or record
            ├── ValidationError        a value does not fit its property definition
            ├── DuplicateError         a unique value is already held by another record
            ├── BatchError             an atomic batch refused: every failing input listed
            └── SearchError            a search request refused, at the part named by ``path``

Record errors are per record: a sync logs and counts them and goes on with the rest.
"""

from __future__ import annotations

from typing import Any

from syncd.errors import RecordError, UsageError

__all__ = [
    "ApiTokenError",
    "BatchError",
    "CsvFileError",
    "DuplicateError",
    "LeaseLostError",
    "LinkConflictError",
    "NotFoundError",
    "NotMigratedError",
    "RecordWriteError",
    "SchemaError",
    "SearchError",
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
        # A missing value reads as such, not as Python's spelling of it.
        shown = "no value" if value is None else repr(value)
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


class SearchError(RecordWriteError):
    """A search request was refused; ``path`` names the bad part (``filterGroups[0]...``)."""

    def __init__(self, path: str, problem: str, **data: Any) -> None:
        super().__init__(f"{path}: {problem}", path=path, **data)
        self.path = path
        self.problem = problem


class LinkConflictError(StoreError):
    """A link write would tie one CRM record to two external records of the same sync."""

    def __init__(self, sync: str, crm_id: int, held_by: str, wanted_by: str) -> None:
        super().__init__(
            f"sync {sync!r}: CRM record {crm_id} is already linked to external record "
            f"{held_by!r}, so it cannot also be linked to {wanted_by!r}; delete one of the "
            "links first (or merge the external records)"
        )
        self.sync = sync
        self.crm_id = crm_id
        self.held_by = held_by
        self.wanted_by = wanted_by


class LeaseLostError(StoreError):
    """This process no longer holds the sync's lease: its work must not commit."""


class ApiTokenError(StoreError):
    """A token was refused: a bad name or scope, or a name already taken."""


class CsvFileError(UsageError):
    """The file as a whole cannot be imported (empty, undecodable, bad header, ...)."""
