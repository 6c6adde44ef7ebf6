"""The store's tables, as SQLAlchemy Core.

The schema itself is made only by the Alembic migrations in ``store/migrations``; these
definitions are what the code queries with, and a test checks that the migrations produce
exactly them.

Record property values live in one JSON column per record (canonical strings, as HubSpot
sends them): one row per record keeps batch writes cheap, and the values that must be unique
are enforced by the ``unique_values`` table, whose primary key makes two concurrent writers
of the same email collide in the database rather than both win.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.db.types import JSONText, JSONType, UTCDateTime

__all__ = [
    "api_tokens",
    "association_types",
    "associations",
    "catalog_version",
    "imports",
    "journal",
    "journal_head",
    "list_membership_events",
    "list_memberships",
    "lists",
    "metadata",
    "object_types",
    "properties",
    "property_groups",
    "property_history",
    "records",
    "saved_views",
    "sync_conflicts",
    "sync_create_intents",
    "sync_inbound_errors",
    "sync_leases",
    "sync_links",
    "sync_log",
    "sync_outbox",
    "sync_pending_associations",
    "sync_runs",
    "sync_states",
    "sync_unlinked",
    "unique_values",
    "webhook_inbox",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT everywhere else.
RecordId = BigInteger().with_variant(Integer(), "sqlite")

object_types = Table(
    "object_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("type_id", String(20), nullable=False, unique=True),
    Column("singular_label", String(200), nullable=False),
    Column("plural_label", String(200), nullable=False),
    Column("primary_display_property", String(100)),
    Column("required_properties", JSONType, nullable=False),
    Column("searchable_properties", JSONType, nullable=False),
    Column("secondary_display_properties", JSONType, nullable=False),
    Column("description", Text, nullable=False),
    Column("custom", Boolean, nullable=False),
    Column("activity", Boolean, nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

property_groups = Table(
    "property_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("label", String(200), nullable=False),
    Column("display_order", Integer, nullable=False),
    Column("archived", Boolean, nullable=False),
    UniqueConstraint("object_type_id", "name", name="uq_property_groups_object_name"),
)

properties = Table(
    "properties",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("label", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("field_type", String(20), nullable=False),
    Column("group_name", String(100)),
    Column("description", Text, nullable=False),
    Column("options", JSONType, nullable=False),
    Column("unique_value", Boolean, nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("format", String(20)),
    Column("builtin", Boolean, nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("display_order", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("object_type_id", "name", name="uq_properties_object_name"),
)

records = Table(
    "records",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("properties", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("archived_at", UTCDateTime),
    Column("merged_into_id", BigInteger),
    Index("ix_records_object_archived_id", "object_type_id", "archived", "id"),
    # Migration 0003 adds expression indexes ix_records_search_<property> on
    # (object_type_id, <value expression>) for store.search.filters.INDEXED_PROPERTIES; they are
    # not declared here because the expression differs by dialect (see store/search.py).
)

unique_values = Table(
    "unique_values",
    metadata,
    Column("object_type_id", Integer, ForeignKey("object_types.id"), primary_key=True),
    Column("property_name", String(100), primary_key=True),
    # The normalised value, or "sha256:<hex>" of it when longer than an index key may be.
    Column("value_key", String(300), primary_key=True),
    Column("record_id", BigInteger, ForeignKey("records.id"), nullable=False),
    Index("ix_unique_values_record_id", "record_id"),
)

property_history = Table(
    "property_history",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("record_id", BigInteger, ForeignKey("records.id"), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(200)),
    # {property: new value or null}: one row per record per write, not per property.
    Column("changes", JSONText, nullable=False),
    Index("ix_property_history_record_id", "record_id", "id"),
)

association_types = Table(
    "association_types",
    metadata,
    Column("type_id", Integer, primary_key=True, autoincrement=False),
    Column("from_object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("to_object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("label", String(100)),
    Column("name", String(100)),
    Column("category", String(30), nullable=False),
    Column("inverse_type_id", Integer, nullable=False),
    Index("ix_association_types_pair", "from_object_type_id", "to_object_type_id"),
)

associations = Table(
    "associations",
    metadata,
    Column("from_record_id", BigInteger, ForeignKey("records.id"), primary_key=True),
    Column("to_record_id", BigInteger, ForeignKey("records.id"), primary_key=True),
    Column("type_id", Integer, ForeignKey("association_types.type_id"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_associations_to_record_id", "to_record_id"),
)

journal = Table(
    "journal",
    metadata,
    # Dense and in commit order: from journal_head under its row lock (PostgreSQL), from
    # max(seq) under the write lock (SQLite); see store/db/tx.py.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("written_at", UTCDateTime, nullable=False),
    Column("object_type", String(100), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("op", String(20), nullable=False),
    Column("changes", JSONText),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(200)),
)

# One row (id 1) whose version every change to the catalogue (object_types, properties,
# property_groups) bumps in the same transaction (``store.db.catalog.catalog_changed``), so
# every process's cache of definitions knows, from one cheap read, when to load them again.
catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

# The journal's counter on PostgreSQL; SQLite does not keep it (store/db/tx.py).
journal_head = Table(
    "journal_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

saved_views = Table(
    "saved_views",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("name", String(200), nullable=False),
    # HubSpot's filterGroups / sorts shapes, and the property names shown as columns.
    Column("filter_groups", JSONType, nullable=False),
    Column("sorts", JSONType, nullable=False),
    Column("columns", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("object_type_id", "name", name="uq_saved_views_object_name"),
)

lists = Table(
    "lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    # MANUAL (static, by hand), SNAPSHOT (static, seeded once by the filter), DYNAMIC.
    Column("processing_type", String(20), nullable=False),
    Column("filter_groups", JSONType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

list_memberships = Table(
    "list_memberships",
    metadata,
    Column("list_id", Integer, ForeignKey("lists.id"), primary_key=True),
    Column("record_id", BigInteger, ForeignKey("records.id"), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_list_memberships_record_id", "record_id"),
)

list_membership_events = Table(
    "list_membership_events",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("lists.id"), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("change", String(10), nullable=False),  # added | removed
    Column("at", UTCDateTime, nullable=False),
    Index("ix_list_membership_events_list_id", "list_id", "id"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_name", String(500), nullable=False),
    Column("object_type_id", Integer, ForeignKey("object_types.id"), nullable=False),
    Column("mode", String(10), nullable=False),  # create | update | upsert
    Column("status", String(20), nullable=False),  # STARTED, PROCESSING, DONE, FAILED
    Column("total_rows", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("error_report", String(1000)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

# ---------------------------------------------------------------- sync engine state
# Written in the same transaction as the CRM records a sync changes (``Store.sync_write``),
# so a crash never leaves a record written without its link, base or log row, or the reverse.
# CRM record ids here carry no foreign key: log and conflict rows outlive a purged record,
# and links are removed by the purge itself.

sync_links = Table(
    "sync_links",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("external_id", String(400), primary_key=True),
    Column("crm_object", String(100), nullable=False),
    Column("crm_id", BigInteger, nullable=False),
    # {CRM property: canonical value both sides agreed on at the last sync}
    Column("base", JSONText, nullable=False),
    Column("external_updated_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The external version the base was agreed at (a CardDAV ETag); None where none is known.
    Column("external_version", String(400)),
    UniqueConstraint("sync", "crm_id", name="uq_sync_links_sync_crm_id"),
    Index("ix_sync_links_crm_id", "crm_id"),
)

sync_states = Table(
    "sync_states",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("cursor", JSONType),
    Column("journal_position", BigInteger, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("paused_reason", Text),
    Column("last_run_at", UTCDateTime),
    # The fields the sync carried at its last pass: a field added since is backfilled.
    Column("fields", JSONType),
    Column("updated_at", UTCDateTime, nullable=False),
    # When delete reconciliation is next due (null: at the daemon's first look).
    Column("reconcile_due_at", UTCDateTime),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sync", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False),  # running | ok | failed | dry_run
    Column("summary", JSONType, nullable=False),
    Index("ix_sync_runs_sync_id", "sync", "id"),
)

sync_log = Table(
    "sync_log",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("sync", String(200), nullable=False),
    Column("run_id", Integer),
    Column("at", UTCDateTime, nullable=False),
    Column("crm_object", String(100), nullable=False),
    Column("crm_id", BigInteger),
    Column("external_id", String(400)),
    Column("direction", String(20), nullable=False),
    Column("action", String(20), nullable=False),
    Column("changes", JSONText),
    Column("message", Text),
    Column("level", String(20), nullable=False),
    Index("ix_sync_log_sync_id", "sync", "id"),
    Index("ix_sync_log_crm", "crm_object", "crm_id"),
    Index("ix_sync_log_sync_external_id", "sync", "external_id"),
    Index("ix_sync_log_run_id", "run_id", "id"),
    # The activity counts (status, console) read direction and action from the index alone.
    Index("ix_sync_log_sync_at_kind", "sync", "at", "direction", "action"),
    Index("ix_sync_log_sync_action", "sync", "action", "id"),
)

sync_conflicts = Table(
    "sync_conflicts",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("sync", String(200), nullable=False),
    Column("run_id", Integer),
    Column("crm_object", String(100), nullable=False),
    Column("crm_id", BigInteger, nullable=False),
    Column("external_id", String(400), nullable=False),
    Column("field", String(100), nullable=False),
    Column("rule", String(50), nullable=False),
    Column("base", Text),
    Column("has_base", Boolean, nullable=False),
    Column("crm_value", Text),
    Column("external_value", Text),
    Column("winner", String(20)),
    Column("loser_value", Text),
    Column("loser_changed_at", UTCDateTime),
    Column("open", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolution", String(50)),
    Column("resolved_value", Text),
    Index("ix_sync_conflicts_sync_open", "sync", "open", "id"),
    Index("ix_sync_conflicts_record", "crm_object", "crm_id"),
)

# Records a sync must still write outside (decided, or failed and waiting for a retry).
sync_outbox = Table(
    "sync_outbox",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("crm_id", BigInteger, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("parked", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sync_outbox_sync", "sync", "next_attempt_at"),
)

# Creates sent (or about to be sent) outside whose outcome is not committed yet: a crash or a
# lost answer leaves the row, and the next pass looks the record up before creating again.
sync_create_intents = Table(
    "sync_create_intents",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("crm_id", BigInteger, primary_key=True),
    Column("key", String(400), nullable=False),
    # {"fields": {...}, "match": [field, value] | null}: the request as it was sent.
    Column("request", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Associations whose other record is not linked yet; made when its link appears.
sync_pending_associations = Table(
    "sync_pending_associations",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("crm_id", BigInteger, primary_key=True),
    Column("field", String(400), primary_key=True),
    Column("target_sync", String(200), nullable=False),
    Column("target_external_id", String(400), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sync_pending_associations_target_sync", "target_sync", "target_external_id"),
)

# Webhook events, verified and stored before the sender gets its 200; the worker applies them
# later (``syncd.engine.events``) and marks them done in the same transaction as its CRM
# writes. A delivery the sender repeats hits the unique key and is stored once; an event
# without a delivery id (NULL) is never deduplicated here, applying it twice is harmless.
webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("connector", String(200), nullable=False),
    Column("sync", String(200), nullable=False),
    Column("external_object", String(200), nullable=False),
    Column("external_id", String(400), nullable=False),
    Column("delivery_id", String(400)),
    # The WebhookEvent as data: ids, deleted flag, and the record when the body carried it.
    Column("event", JSONType, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("state", String(20), nullable=False),  # pending | done | failed
    Column("applied_at", UTCDateTime),
    UniqueConstraint(
        "connector", "delivery_id", "sync", "external_id", name="uq_webhook_inbox_delivery"
    ),
    Index("ix_webhook_inbox_sync_state", "sync", "state", "id"),
)

# One process runs a sync at a time: the lease's holder, its fencing token and expiry.
sync_leases = Table(
    "sync_leases",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("holder", String(200)),
    Column("token", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    # A pass waiting for the lease (``syncd sync`` beside the daemon), refreshed while it
    # waits: the holder hands the lease over between passes and nobody else takes it.
    Column("wanted_by", String(200)),
    Column("wanted_at", UTCDateTime),
)

# One row per daemon process: its renew job stamps ``seen_at``, so `syncd status` can tell a
# daemon that is running from one that stopped or died.
daemon_heartbeats = Table(
    "daemon_heartbeats",
    metadata,
    Column("holder", String(200), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Index("ix_daemon_heartbeats_seen_at", "seen_at"),
)

# CRM records a sync unlinked because their external record was deleted and the sync's
# ``deletes.from_external`` is ``ignore``: kept unlinked (not created outside again, even by
# ``sync --full``) until the record changes in the CRM after ``unlinked_at``.
sync_unlinked = Table(
    "sync_unlinked",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("crm_id", BigInteger, primary_key=True),
    Column("external_id", String(400), nullable=False),
    Column("unlinked_at", UTCDateTime, nullable=False),
)

# External records a sync could not apply (a value the CRM refuses, an unmapped option):
# parked for an operator, cleared when the record applies.
sync_inbound_errors = Table(
    "sync_inbound_errors",
    metadata,
    Column("sync", String(200), primary_key=True),
    Column("external_id", String(400), primary_key=True),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("retry_requested", Boolean, nullable=False),
    Column("first_failed_at", UTCDateTime, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
    # A refusal the CRM can clear (a duplicate value, a match already linked) is retried by
    # the sync itself from this time on, with back-off; None: an operator or a change outside.
    Column("retry_at", UTCDateTime),
)

# Bearer tokens of the HTTP API. Only the SHA-256 of the secret is kept (the secret is shown
# once, at creation); ``prefix`` is its first characters, so an operator can tell tokens
# apart in a list. A name is never reused, even after revocation: property history names the
# token a write came through, and that name must keep meaning one token.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(20), nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated: "read" or "read write"
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)
