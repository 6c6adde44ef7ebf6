"""Which CSV column feeds which property, and the cell rules import and export share.

Pure functions over frozen values: no I/O, no database, no clock. ``match_columns`` decides
every column of a header once (a ``ColumnPlan``); ``error_type`` names a refused value the
way HubSpot's import error report does; ``guard_formula``/``unguard_formula`` are the
formula-injection rule, written so that one undoes the other for every string.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from store.db.builtin import AUTOMATIC_PROPERTIES, COUNT_PROPERTIES
from store.errors import DuplicateError, NotFoundError, ValidationError
from store.models import PropertyDef

__all__ = [
    "FORMULA_TRIGGERS",
    "RECORD_ID_PROPERTY",
    "Column",
    "ColumnPlan",
    "error_type",
    "guard_formula",
    "match_columns",
    "normalise_header",
    "unguard_formula",
]

RECORD_ID_PROPERTY = "hs_object_id"
IGNORE = "ignore"
# What a spreadsheet may run as a formula when a cell starts with it.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def normalise_header(text: str) -> str:
    """``" Prénom  "`` and ``"prenom"`` alike: NFKD, accents dropped, case-folded, spaces one."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class Column:
    """One header column's fate: a property of an object, the record id, or skipped."""

    index: int
    name: str
    object: str | None = None
    prop: str | None = None
    skipped: str | None = None  # why it is skipped: "ignored", "unmatched", "read-only"

    @property
    def is_record_id(self) -> bool:
        return self.prop == RECORD_ID_PROPERTY


@dataclass(frozen=True)
class ColumnPlan:
    """Every column of a header, decided."""

    columns: tuple[Column, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def used(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.skipped is None)

    @property
    def unmatched(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.skipped == "unmatched")

    def objects(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.object for c in self.used if c.object is not None))

    def column_of(self, object_name: str, property_name: str) -> Column | None:
        for c in self.used:
            if c.object == object_name and c.prop == property_name:
                return c
        return None


def _writable(prop: PropertyDef) -> bool:
    return not (
        prop.read_only
        or prop.field_type == "calculation"
        or prop.name in AUTOMATIC_PROPERTIES
        or prop.name in COUNT_PROPERTIES
    )


def match_columns(
    headers: Sequence[str],
    primary: str,
    properties: Mapping[str, Mapping[str, PropertyDef]],
    mapping: Mapping[str, str] | None = None,
) -> ColumnPlan:
    """Decide each column: the mapping first, then a property name or label of ``primary``.

    ``properties`` maps each object the file may write to its live properties. A mapping
    target is ``property``, ``object.property`` or ``ignore``. Duplicate headers (after
    normalising) and mapping entries that name no column or no property are problems.
    """
    problems: list[str] = []
    mapping = dict(mapping or {})
    by_header: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        if key in by_header:
            problems.append(f"duplicate column name {header!r} (same as {by_header[key]!r})")
        by_header.setdefault(key, header)
    mapped = {normalise_header(k): v for k, v in mapping.items()}
    for name in mapping:
        if normalise_header(name) not in by_header:
            problems.append(f"mapping names column {name!r}, which the file does not have")
    lookup = _lookup(properties.get(primary, {}))
    columns: list[Column] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        target = mapped.get(key)
        if target is not None:
            columns.append(_mapped(index, header, target, primary, properties, problems))
            continue
        found = lookup.get(key)
        if key in ("record id", RECORD_ID_PROPERTY) or found == RECORD_ID_PROPERTY:
            columns.append(Column(index, header, primary, RECORD_ID_PROPERTY))
        elif found is None:
            columns.append(Column(index, header, skipped="unmatched"))
        elif not _writable(properties[primary][found]):
            columns.append(Column(index, header, primary, found, skipped="read-only"))
        else:
            columns.append(Column(index, header, primary, found))
    seen: dict[tuple[str | None, str | None], str] = {}
    for c in columns:
        if c.skipped is None:
            if (c.object, c.prop) in seen:
                problems.append(
                    f"columns {seen[(c.object, c.prop)]!r} and {c.name!r} "
                    f"both feed {c.object}.{c.prop}"
                )
            seen[(c.object, c.prop)] = c.name
    return ColumnPlan(tuple(columns), tuple(problems))


def _lookup(props: Mapping[str, PropertyDef]) -> dict[str, str]:
    """Normalised name or label -> property name; a name wins over another's label."""
    found: dict[str, str] = {}
    for prop in props.values():
        found.setdefault(normalise_header(prop.label), prop.name)
    for prop in props.values():
        found[normalise_header(prop.name)] = prop.name
    return found


def _mapped(
    index: int,
    header: str,
    target: str,
    primary: str,
    properties: Mapping[str, Mapping[str, PropertyDef]],
    problems: list[str],
) -> Column:
    if not isinstance(target, str) or not target.strip():
        problems.append(f"mapping for column {header!r} must be a property name or 'ignore'")
        return Column(index, header, skipped="ignored")
    target = target.strip()
    if target.lower() == IGNORE:
        return Column(index, header, skipped="ignored")
    object_name, _, name = target.rpartition(".")
    object_name = object_name or primary
    props = properties.get(object_name)
    if props is None:
        problems.append(
            f"mapping for column {header!r}: object {object_name!r} is not part of this import"
        )
        return Column(index, header, skipped="ignored")
    if name == RECORD_ID_PROPERTY:
        return Column(index, header, object_name, name)
    if name not in props:
        problems.append(f"mapping for column {header!r}: {object_name} has no property {name!r}")
        return Column(index, header, skipped="ignored")
    if not _writable(props[name]):
        problems.append(f"mapping for column {header!r}: {object_name}.{name} is read-only")
        return Column(index, header, skipped="ignored")
    return Column(index, header, object_name, name)


def guard_formula(value: str) -> str:
    """The cell export writes: one ``'`` before a value a spreadsheet would run as a formula.

    A value counts when, after its leading apostrophes, it starts with ``= + - @``, tab or
    CR; so a value that already starts with ``'=`` gets one more, and ``unguard_formula``
    (strip exactly one) gives back every string unchanged.
    """
    rest = value.lstrip("'")
    return "'" + value if rest and rest[0] in FORMULA_TRIGGERS else value


def unguard_formula(value: str) -> str:
    """The value of a cell export guarded: one leading ``'`` dropped, only where it guards."""
    if value.startswith("'"):
        rest = value.lstrip("'")
        if rest and rest[0] in FORMULA_TRIGGERS:
            return value[1:]
    return value


def error_type(exc: Exception, prop: PropertyDef | None) -> str:
    """HubSpot's import error type for a refused row (its names; ours where it has none)."""
    if isinstance(exc, DuplicateError):
        return "DUPLICATE_UNIQUE_PROPERTY_VALUE"
    if isinstance(exc, NotFoundError):
        return "UNKNOWN_RECORD_ID" if "record" in str(exc) else "PROPERTY_DEFINITION_NOT_FOUND"
    if not isinstance(exc, ValidationError):
        return "INVALID_ROW"
    rule = exc.rule
    if rule.startswith("required"):
        return "MISSING_REQUIRED_PROPERTY"
    if "of this batch" in rule or rule.startswith("repeats input"):
        return "DUPLICATE_UNIQUE_PROPERTY_VALUE"
    if rule.startswith("longer than"):
        return "VALUE_TOO_LONG"
    if rule.startswith("read-only"):
        return "READ_ONLY_PROPERTY"
    if prop is None:
        return "INVALID_PROPERTY_VALUE"
    if prop.format == "email":
        return "INVALID_EMAIL"
    if prop.format == "domain":
        return "INVALID_DOMAIN"
    if prop.field_type == "phonenumber":
        return "INVALID_PHONE_NUMBER"
    return {
        "number": "COULD_NOT_PARSE_NUMBER",
        "date": "COULD_NOT_PARSE_DATE",
        "datetime": "COULD_NOT_PARSE_DATE",
        "enumeration": "INVALID_ENUMERATION_OPTION",
        "bool": "INVALID_BOOLEAN",
    }.get(prop.type, "INVALID_PROPERTY_VALUE")
