"""The CRM record store: objects, properties, records, associations, history and journal.

``Store`` is the only way in; the domain values it takes and returns live in ``models``,
its errors in ``errors``.
"""

from __future__ import annotations

from store.api import Store
from store.errors import (
    BatchError,
    DuplicateError,
    NotFoundError,
    NotMigratedError,
    RecordWriteError,
    SchemaError,
    StoreError,
    ValidationError,
)
from store.models import (
    Association,
    AssociationLabel,
    BatchResult,
    ChangeSource,
    GroupSpec,
    HistoryEntry,
    JournalEntry,
    ObjectSchema,
    ObjectSpec,
    OptionSpec,
    PropertyDef,
    PropertySpec,
    Record,
    SourceType,
)

__all__ = [
    "Association",
    "AssociationLabel",
    "BatchError",
    "BatchResult",
    "ChangeSource",
    "DuplicateError",
    "GroupSpec",
    "HistoryEntry",
    "JournalEntry",
    "NotFoundError",
    "NotMigratedError",
    "ObjectSchema",
    "ObjectSpec",
    "OptionSpec",
    "PropertyDef",
    "PropertySpec",
    "Record",
    "RecordWriteError",
    "SchemaError",
    "SourceType",
    "Store",
    "StoreError",
    "ValidationError",
]
