"""The store's domain values: what callers pass in and get back.

Frozen dataclasses, so nothing outside ``store/`` ever holds an ORM row or a session, and a
value handed out cannot be changed behind the store's back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "PROPERTY_TYPES",
    "TYPE_FIELD_TYPES",
    "Association",
    "AssociationLabel",
    "AssociationSpec",
    "BatchFailure",
    "BatchResult",
    "ChangeSource",
    "GroupSpec",
    "HistoryEntry",
    "JournalEntry",
    "ObjectSchema",
    "ObjectSpec",
    "OptionSpec",
    "PropertyDef",
    "PropertySpec",
    "PropertyUpdateReport",
    "Record",
    "SourceType",
]


MAX_SOURCE_ID = 200  # the width of the source_id columns


class SourceType(enum.StrEnum):
    """Who made a change; HubSpot's names, so history reads the same in both systems."""

    CRM_UI = "CRM_UI"
    IMPORT = "IMPORT"
    API = "API"
    INTEGRATION = "INTEGRATION"
    CALCULATED = "CALCULATED"
    BULK_EDIT = "BULK_EDIT"


@dataclass(frozen=True)
class ChangeSource:
    """The source every write carries into property history and the journal.

    ``id`` says which sync, import or token; INTEGRATION writes must name their sync so the
    engine can recognise its own changes when they come back through the journal.
    """

    type: SourceType
    id: str | None = None

    def __post_init__(self) -> None:
        # Checked here, at the boundary, so a bad source fails the same on both databases.
        if not isinstance(self.type, SourceType):
            raise ValueError(f"source type {self.type!r} unknown; use a SourceType")
        if self.id is not None and (not isinstance(self.id, str) or len(self.id) > MAX_SOURCE_ID):
            raise ValueError(f"source id must be text of at most {MAX_SOURCE_ID} characters")

    @classmethod
    def cli(cls) -> ChangeSource:
        return cls(SourceType.CRM_UI, "cli")


PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")

# Which fieldType fits which type (HubSpot's table, less the internal ones).
TYPE_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("text", "textarea", "phonenumber", "calculation"),
    "number": ("number", "calculation"),
    "date": ("date",),
    "datetime": ("date",),
    "enumeration": ("select", "radio", "checkbox", "booleancheckbox", "calculation"),
    "bool": ("booleancheckbox", "calculation"),
}


@dataclass(frozen=True)
class OptionSpec:
    """One choice of an enumeration property."""

    value: str
    label: str
    display_order: int = 0
    hidden: bool = False


@dataclass(frozen=True)
class PropertySpec:
    """A property definition as an admin (or the built-in catalogue) writes it."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    group: str | None = None
    description: str = ""
    options: tuple[OptionSpec, ...] = ()
    unique: bool = False
    read_only: bool = False
    # "email" or "domain": extra format checks (and dedupe normalisation) beyond the type.
    format: str | None = None
    display_order: int = -1


@dataclass(frozen=True)
class GroupSpec:
    """A property group: how properties are arranged for people."""

    name: str
    label: str
    display_order: int = -1


@dataclass(frozen=True)
class ObjectSpec:
    """A custom object schema (HubSpot's schema body, in our names)."""

    name: str
    singular_label: str
    plural_label: str
    primary_display_property: str
    properties: tuple[PropertySpec, ...] = ()
    required_properties: tuple[str, ...] = ()
    searchable_properties: tuple[str, ...] = ()
    secondary_display_properties: tuple[str, ...] = ()
    associated_objects: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class PropertyDef:
    """A stored property definition."""

    object: str
    name: str
    label: str
    type: str
    field_type: str
    group: str | None
    description: str
    options: tuple[OptionSpec, ...]
    unique: bool
    read_only: bool
    format: str | None
    builtin: bool
    archived: bool
    display_order: int
    created_at: datetime
    updated_at: datetime

    @property
    def option_values(self) -> frozenset[str]:
        return frozenset(option.value for option in self.options)


@dataclass(frozen=True)
class ObjectSchema:
    """A stored object definition, standard or custom, with its live properties."""

    name: str
    type_id: str
    singular_label: str
    plural_label: str
    primary_display_property: str | None
    required_properties: tuple[str, ...]
    searchable_properties: tuple[str, ...]
    secondary_display_properties: tuple[str, ...]
    description: str
    custom: bool
    activity: bool
    archived: bool
    created_at: datetime
    updated_at: datetime
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    groups: tuple[GroupSpec, ...] = ()


@dataclass(frozen=True)
class Record:
    """One record with its property values, all as canonical strings (as HubSpot sends them)."""

    object: str
    id: int
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    merged_into: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One past value of one property: what it became, when, and who made it so."""

    property: str
    value: str | None
    timestamp: datetime
    source_type: SourceType
    source_id: str | None


@dataclass(frozen=True)
class BatchFailure:
    """Why input number ``index`` of a batch was not written."""

    index: int
    error: Exception


@dataclass(frozen=True)
class BatchResult:
    """What a non-atomic batch did: the records written and, by input index, those refused."""

    records: list[Record]
    failures: list[BatchFailure]
    created: frozenset[int] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class PropertyUpdateReport:
    """A property after an update, with stored values its new definition no longer accepts."""

    property: PropertyDef
    invalid_values: list[tuple[int, str]]


@dataclass(frozen=True)
class AssociationLabel:
    """One direction of an association type between two objects.

    ``label`` is None for the default (unlabelled) type. A paired label (Manager/Employee)
    is two of these whose ``inverse_type_id`` point at each other.
    """

    type_id: int
    from_object: str
    to_object: str
    label: str | None
    name: str | None
    category: str
    inverse_type_id: int


@dataclass(frozen=True)
class AssociationSpec:
    """A request for an association: which records, and with which label (None = default)."""

    from_id: int
    to_id: int
    label: str | None = None


@dataclass(frozen=True)
class Association:
    """All the labels one record carries towards one other record."""

    from_object: str
    from_id: int
    to_object: str
    to_id: int
    labels: tuple[AssociationLabel, ...]


@dataclass(frozen=True)
class JournalEntry:
    """One committed change, in commit order (``seq`` is dense: no gaps, never reused)."""

    seq: int
    written_at: datetime
    object: str
    record_id: int
    op: str
    changes: dict[str, Any] | None
    source_type: SourceType
    source_id: str | None
