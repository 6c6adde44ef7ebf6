"""The CRM record store: objects, properties, records, associations, history and journal.

``Store`` is the only way in; the domain values it takes and returns live in ``models``
(the sync engine's in ``sync_models``), its errors in ``errors``.
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
from store.inbox_ops import InboxEntry, InboxEntrySpec
from store.intent_ops import CreateIntent
from store.lease_ops import Fence, LeaseHolder, LeaseLostError
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
from store.ops_ops import DaemonSeen, SyncOverview
from store.sync_models import (
    ConflictRecord,
    ConflictSpec,
    Link,
    LinkWrite,
    LogAction,
    LogDirection,
    LogSpec,
    SyncLogEntry,
    SyncRun,
    SyncState,
)
from store.sync_ops import LinkConflictError
from store.sync_tx import SyncTx
from store.tokens_api import ApiToken, ApiTokenError

__all__ = [
    "ApiToken",
    "ApiTokenError",
    "Association",
    "AssociationLabel",
    "BatchError",
    "BatchResult",
    "ChangeSource",
    "ConflictRecord",
    "ConflictSpec",
    "CreateIntent",
    "DaemonSeen",
    "DuplicateError",
    "Fence",
    "GroupSpec",
    "HistoryEntry",
    "InboxEntry",
    "InboxEntrySpec",
    "JournalEntry",
    "LeaseHolder",
    "LeaseLostError",
    "Link",
    "LinkConflictError",
    "LinkWrite",
    "LogAction",
    "LogDirection",
    "LogSpec",
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
    "SyncLogEntry",
    "SyncOverview",
    "SyncRun",
    "SyncState",
    "SyncTx",
    "ValidationError",
]
