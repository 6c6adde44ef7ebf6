"""The CRM record store: objects, properties, records, associations, history and journal.

This module is the store's one face. Code outside ``store/`` imports from here, from
``store.errors`` and from ``store.models`` only; every other module of the package is free to
move (``tests/unit/test_store_boundary.py`` holds that line). ``Store`` is the way in; the
values it takes and returns, the errors it raises and the few helpers callers share (value
formatting, filter parsing, CSV import and export) are re-exported below.
"""

from __future__ import annotations

from store.activities.timeline import (
    ACTIVITY_TYPES,
    MAX_TIMELINE_PAGE,
    SUMMARY_LENGTH,
    TimelineEntry,
)
from store.associations.part import MAX_LINKS, LinkRequest
from store.associations.sql import MAX_LABELS_PER_PAIR
from store.csv.export import export_properties, iter_records, write_csv, write_json
from store.csv.importer import import_csv
from store.csv.part import ImportSummary
from store.csv.reader import MAX_CELL_CHARS
from store.csv.request import MODES, AssociateSpec, ImportRequest
from store.db.builtin import AUTOMATIC_PROPERTIES, COUNT_PROPERTIES
from store.db.catalog import suggest
from store.db.engine import make_engine, redact_url
from store.db.migrate import current_revision, head_revision, upgrade
from store.db.session import read_scope
from store.db.types import utcnow
from store.db.unread import unwatch as unwatch_unread
from store.db.unread import watch as watch_unread
from store.errors import (
    ApiTokenError,
    BatchError,
    CsvFileError,
    DuplicateError,
    LeaseLostError,
    LinkConflictError,
    NotFoundError,
    NotMigratedError,
    RecordWriteError,
    SchemaError,
    SearchError,
    StoreError,
    ValidationError,
)
from store.facade import Store
from store.inbox.sql import InboxEntry, InboxEntrySpec
from store.lists.sql import DYNAMIC, MANUAL, SNAPSHOT, CrmList, MembershipEvent, SavedView
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
from store.overview.sql import DaemonSeen, SyncOverview
from store.records.creations import as_log_changes
from store.records.sql import MAX_BATCH, is_record_id
from store.schema.sql import MAX_UNIQUE_PROPERTIES
from store.search.filters import (
    OPERATORS,
    Filter,
    FilterGroup,
    Operator,
    Sort,
    parse_filter_expression,
    parse_filter_groups,
    parse_sort,
    parse_sorts,
)
from store.sync.intents import CreateIntent
from store.sync.leases import Fence, LeaseHolder
from store.sync.models import (
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
from store.sync.tx import SyncTx
from store.tokens.part import MAX_SECRET_LENGTH, ApiToken
from store.values import MAX_VALUE_LENGTH, canonical_value, format_datetime

__all__ = [
    "ACTIVITY_TYPES",
    "AUTOMATIC_PROPERTIES",
    "COUNT_PROPERTIES",
    "DYNAMIC",
    "MANUAL",
    "MAX_BATCH",
    "MAX_CELL_CHARS",
    "MAX_LABELS_PER_PAIR",
    "MAX_LINKS",
    "MAX_SECRET_LENGTH",
    "MAX_TIMELINE_PAGE",
    "MAX_UNIQUE_PROPERTIES",
    "MAX_VALUE_LENGTH",
    "MODES",
    "OPERATORS",
    "SNAPSHOT",
    "SUMMARY_LENGTH",
    "ApiToken",
    "ApiTokenError",
    "AssociateSpec",
    "Association",
    "AssociationLabel",
    "BatchError",
    "BatchResult",
    "ChangeSource",
    "ConflictRecord",
    "ConflictSpec",
    "CreateIntent",
    "CrmList",
    "CsvFileError",
    "DaemonSeen",
    "DuplicateError",
    "Fence",
    "Filter",
    "FilterGroup",
    "GroupSpec",
    "HistoryEntry",
    "ImportRequest",
    "ImportSummary",
    "InboxEntry",
    "InboxEntrySpec",
    "JournalEntry",
    "LeaseHolder",
    "LeaseLostError",
    "Link",
    "LinkConflictError",
    "LinkRequest",
    "LinkWrite",
    "LogAction",
    "LogDirection",
    "LogSpec",
    "MembershipEvent",
    "NotFoundError",
    "NotMigratedError",
    "ObjectSchema",
    "ObjectSpec",
    "Operator",
    "OptionSpec",
    "PropertyDef",
    "PropertySpec",
    "Record",
    "RecordWriteError",
    "SavedView",
    "SchemaError",
    "SearchError",
    "Sort",
    "SourceType",
    "Store",
    "StoreError",
    "SyncLogEntry",
    "SyncOverview",
    "SyncRun",
    "SyncState",
    "SyncTx",
    "TimelineEntry",
    "ValidationError",
    "as_log_changes",
    "canonical_value",
    "current_revision",
    "export_properties",
    "format_datetime",
    "head_revision",
    "import_csv",
    "is_record_id",
    "iter_records",
    "make_engine",
    "parse_filter_expression",
    "parse_filter_groups",
    "parse_sort",
    "parse_sorts",
    "read_scope",
    "redact_url",
    "suggest",
    "unwatch_unread",
    "upgrade",
    "utcnow",
    "watch_unread",
    "write_csv",
    "write_json",
]
