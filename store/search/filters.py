"""Search filters: HubSpot's filter groups, parsed and compiled to one SQL condition.

Groups are OR-ed, the filters inside a group AND-ed (HubSpot's model). Pure: parsing and
SQLAlchemy expression building only, no engine, no session, and no clock (``now`` is given).

Comparison follows the property's type, the same on both databases:

- string: case-insensitive, ``lower()`` on both sides;
- number: numerically (the canonical text cast to a number);
- date / datetime: as instants; the canonical ISO text sorts in time order, so the filter
  value is brought to the same canonical text (``2024-01-01``, epoch ms, ISO with offsets);
- enumeration: exact option value; a checkbox (``;``-joined) by membership;
- bool: ``true`` / ``false``.

A record without a value matches ``NOT_HAS_PROPERTY`` and the negative operators (``NEQ``,
``NOT_IN``, ``NOT_CONTAINS_TOKEN``), never a comparison, ``BETWEEN`` or a relative date.

The expressions that ``EQ`` / ``IN`` emit on a string or enumeration property are exactly those
indexed by migration 0003 (see ``index_expression``); change one, change both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import (
    Float,
    Numeric,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from store.db import tables as t
from store.db.builtin import COUNT_PROPERTIES
from store.db.catalog import LoadedObject, suggest
from store.errors import SearchError, ValidationError
from store.models import PropertyDef
from store.values import MAX_VALUE_LENGTH, canonical_value, format_datetime, parse_datetime

__all__ = [
    "ASSOCIATION_PREFIX",
    "INDEXED_PROPERTIES",
    "MAX_FILTERS",
    "MAX_FILTERS_PER_GROUP",
    "MAX_GROUPS",
    "OPERATORS",
    "Filter",
    "FilterGroup",
    "Operator",
    "Sort",
    "association_objects",
    "index_expression",
    "parse_filter_expression",
    "parse_filter_groups",
    "parse_sort",
    "parse_sorts",
    "record_condition",
    "sort_key",
]

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_IN_VALUES = 10_000
ASSOCIATION_PREFIX = "associations."

# Properties with an expression index (migration 0003, ``ix_records_search_<name>``), and
# whether their EQ/IN compare lower-cased ("string") or exactly ("exact", enumerations).
# Not declared in ``store.db.tables``: the expression differs by dialect and SQLite cannot
# reflect it, so ``test_migrations`` leaves these out and ``test_search_indexes`` checks them.
INDEXED_PROPERTIES = {
    "email": "string",
    "firstname": "string",
    "lastname": "string",
    "domain": "string",
    "name": "string",
    "lifecyclestage": "exact",
    "hs_lead_status": "exact",
    "dealstage": "exact",
    "pipeline": "exact",
    "hs_pipeline_stage": "exact",
}

#: The filter operators: HubSpot's, then the store's relative-date ones. One list, a type
#: for the API's request models and a tuple for checking.
Operator = Literal[
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
    "MORE_THAN_DAYS_AGO",
    "LESS_THAN_DAYS_AGO",
]
OPERATORS: tuple[str, ...] = get_args(Operator)
_NO_VALUE = frozenset({"HAS_PROPERTY", "NOT_HAS_PROPERTY"})
_MULTI = frozenset({"IN", "NOT_IN"})
_RELATIVE = frozenset({"MORE_THAN_DAYS_AGO", "LESS_THAN_DAYS_AGO"})
_COMPARE = {"LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
# Names are checked against this before they are written into SQL as literals (indexes
# match only literal JSON paths); property names are made to this rule by the store.
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Automatic properties read from record columns rather than the JSON.
_COLUMNS = {
    "hs_object_id": "id",
    "createdate": "created_at",
    "hs_lastmodifieddate": "updated_at",
    "lastmodifieddate": "updated_at",
}


@dataclass(frozen=True)
class Filter:
    """One condition: ``property OP value`` (``values`` for IN, ``high_value`` for BETWEEN)."""

    property: str
    operator: str
    value: str | None = None
    values: tuple[str, ...] = ()
    high_value: str | None = None


@dataclass(frozen=True)
class FilterGroup:
    """Filters that must all hold."""

    filters: tuple[Filter, ...]


@dataclass(frozen=True)
class Sort:
    property: str
    descending: bool = False


# ------------------------------------------------------------------ parsing


def parse_filter_groups(raw: object, *, where: str = "filterGroups") -> tuple[FilterGroup, ...]:
    """HubSpot's ``filterGroups`` JSON (a list of ``{"filters": [...]}``), checked for shape."""
    if isinstance(raw, Mapping) and "filterGroups" in raw:
        raw = raw["filterGroups"]
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise SearchError(where, f"expected a list of filter groups, got {_kind(raw)}")
    groups = []
    for i, raw_group in enumerate(raw):
        path = f"{where}[{i}]"
        if isinstance(raw_group, FilterGroup):
            groups.append(raw_group)
            continue
        if not isinstance(raw_group, Mapping):
            raise SearchError(path, f"expected an object with filters, got {_kind(raw_group)}")
        _no_unknown_keys(path, raw_group, {"filters"})
        raw_filters = raw_group.get("filters")
        if not isinstance(raw_filters, list | tuple):
            raise SearchError(f"{path}.filters", f"expected a list, got {_kind(raw_filters)}")
        groups.append(
            FilterGroup(
                tuple(_parse_filter(f"{path}.filters[{j}]", f) for j, f in enumerate(raw_filters))
            )
        )
    result = tuple(groups)
    check_limits(result, where=where)
    return result


def check_limits(groups: Sequence[FilterGroup], *, where: str = "filterGroups") -> None:
    """HubSpot's limits: 5 groups, 6 filters in a group, 18 in all; no empty group."""
    if len(groups) > MAX_GROUPS:
        raise SearchError(where, f"{len(groups)} filter groups; at most {MAX_GROUPS} allowed")
    for i, group in enumerate(groups):
        if not group.filters:
            raise SearchError(f"{where}[{i}].filters", "a filter group needs at least one filter")
        if len(group.filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"{where}[{i}].filters",
                f"{len(group.filters)} filters; at most {MAX_FILTERS_PER_GROUP} in a group",
            )
    total = sum(len(g.filters) for g in groups)
    if total > MAX_FILTERS:
        raise SearchError(where, f"{total} filters in all; at most {MAX_FILTERS} allowed")


def _parse_filter(path: str, raw: object) -> Filter:
    if isinstance(raw, Filter):
        return _checked(path, raw)
    if not isinstance(raw, Mapping):
        raise SearchError(path, f"expected a filter object, got {_kind(raw)}")
    _no_unknown_keys(path, raw, {"propertyName", "operator", "value", "values", "highValue"})
    name = raw.get("propertyName")
    if not isinstance(name, str) or not name.strip():
        raise SearchError(f"{path}.propertyName", "required: the property to filter on")
    operator = raw.get("operator")
    if not isinstance(operator, str):
        raise SearchError(f"{path}.operator", f"expected one of {', '.join(OPERATORS)}")
    raw_values = raw.get("values", [])
    if not isinstance(raw_values, list | tuple):
        raise SearchError(f"{path}.values", f"expected a list, got {_kind(raw_values)}")
    return _checked(
        path,
        Filter(
            property=name.strip(),
            operator=operator.strip().upper(),
            value=_scalar(f"{path}.value", raw.get("value")),
            values=tuple(
                v
                for k, item in enumerate(raw_values)
                if (v := _scalar(f"{path}.values[{k}]", item)) is not None
            ),
            high_value=_scalar(f"{path}.highValue", raw.get("highValue")),
        ),
    )


def _checked(path: str, f: Filter) -> Filter:
    """The operator is known and has the values it needs (types are checked at compile)."""
    if f.operator not in OPERATORS:
        raise SearchError(
            f"{path}.operator", f"{f.operator!r} unknown{suggest(f.operator, OPERATORS)}"
        )
    if f.operator in _MULTI:
        if not f.values and f.value is not None:
            f = Filter(f.property, f.operator, values=(f.value,))
        if not f.values:
            raise SearchError(f"{path}.values", f"{f.operator} needs a list of values")
        if len(f.values) > MAX_IN_VALUES:
            raise SearchError(f"{path}.values", f"at most {MAX_IN_VALUES} values")
    elif f.operator not in _NO_VALUE and f.value is None:
        raise SearchError(f"{path}.value", f"{f.operator} needs a value")
    if f.operator == "BETWEEN" and f.high_value is None:
        raise SearchError(f"{path}.highValue", "BETWEEN needs a highValue (the upper bound)")
    return f


def _scalar(path: str, raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | Decimal):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw)
    if isinstance(raw, str):
        if len(raw) > MAX_VALUE_LENGTH:
            raise SearchError(path, f"longer than {MAX_VALUE_LENGTH} characters ({len(raw)})")
        if "\x00" in raw:
            raise SearchError(path, "contains a NUL character")
        return raw
    raise SearchError(path, f"expected text or a number, got {_kind(raw)}")


def parse_filter_expression(text: str) -> Filter:
    """The CLI form ``PROP OP [VALUE]``: ``amount BETWEEN 10 20``, ``stage IN a,b``."""
    where = f"filter {text!r}"
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        raise SearchError(where, "expected PROPERTY OPERATOR [VALUE], e.g. 'email EQ a@b.com'")
    name, operator = parts[0], parts[1].upper()
    rest = parts[2].strip() if len(parts) > 2 else None
    if operator not in OPERATORS:
        raise SearchError(where, f"operator {parts[1]!r} unknown{suggest(operator, OPERATORS)}")
    if operator in _NO_VALUE:
        if rest:
            raise SearchError(where, f"{operator} takes no value")
        return Filter(name, operator)
    if not rest:
        raise SearchError(where, f"{operator} needs a value")
    if operator in _MULTI:
        values = tuple(v.strip() for v in rest.split(",") if v.strip())
        return _checked(where, Filter(name, operator, values=values))
    if operator == "BETWEEN":
        bounds = rest.split()
        if len(bounds) != 2:
            raise SearchError(where, "BETWEEN needs two values: LOW HIGH")
        return Filter(name, operator, value=bounds[0], high_value=bounds[1])
    return _checked(where, Filter(name, operator, value=_scalar(where, rest)))


def parse_sort(text: str) -> Sort:
    """``PROP`` or ``PROP:desc`` (also ``:asc``, ``-PROP``)."""
    spec = text.strip()
    descending = False
    if spec.startswith("-"):
        spec, descending = spec[1:], True
    if ":" in spec:
        spec, direction = spec.rsplit(":", 1)
        if direction.strip().lower() in ("desc", "descending"):
            descending = True
        elif direction.strip().lower() not in ("asc", "ascending"):
            raise SearchError(f"sort {text!r}", "direction must be asc or desc")
    if not spec.strip():
        raise SearchError(f"sort {text!r}", "expected PROPERTY or PROPERTY:desc")
    return Sort(spec.strip(), descending)


def parse_sorts(raw: object, *, where: str = "sorts") -> tuple[Sort, ...]:
    """Sorts as ``Sort`` values, ``"prop:desc"`` strings or HubSpot's
    ``{"propertyName", "direction": "ASCENDING" | "DESCENDING"}``."""
    if raw is None:
        return ()
    if isinstance(raw, str | Sort | Mapping):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise SearchError(where, f"expected a list of sorts, got {_kind(raw)}")
    sorts = []
    for i, item in enumerate(raw):
        if isinstance(item, Sort):
            sorts.append(item)
        elif isinstance(item, str):
            sorts.append(parse_sort(item))
        elif isinstance(item, Mapping):
            name = item.get("propertyName")
            direction = str(item.get("direction", "ASCENDING")).upper()
            if not isinstance(name, str) or not name:
                raise SearchError(f"{where}[{i}].propertyName", "required")
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchError(
                    f"{where}[{i}].direction", f"{direction!r} unknown; ASCENDING or DESCENDING"
                )
            sorts.append(Sort(name, direction == "DESCENDING"))
        else:
            raise SearchError(f"{where}[{i}]", f"expected a sort, got {_kind(item)}")
    return tuple(sorts)


def association_objects(groups: Sequence[FilterGroup]) -> set[str]:
    """The object names the ``associations.<object>`` filters refer to (to check they exist)."""
    return {
        f.property[len(ASSOCIATION_PREFIX) :]
        for g in groups
        for f in g.filters
        if f.property.startswith(ASSOCIATION_PREFIX)
    }


def _no_unknown_keys(path: str, raw: Mapping[Any, Any], known: set[str]) -> None:
    for key in raw:
        if key not in known:
            raise SearchError(
                f"{path}.{key}",
                f"unknown field{suggest(str(key), known)}; known: {', '.join(sorted(known))}",
            )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return names.get(type(value), type(value).__name__)


# ------------------------------------------------------------------ SQL


def index_expression(dialect: str, prop_type: str, name: str) -> str:
    """The SQL text of the value expression EQ/IN emit (and migration 0003 indexes)."""
    raw = _json_text(dialect, name)
    return f"lower({raw})" if prop_type == "string" else raw


def _json_text(dialect: str, name: str) -> str:
    if not _SAFE_NAME.match(name):  # pragma: no cover - the store only makes such names
        raise SearchError("propertyName", f"{name!r} cannot be searched")
    if dialect == "postgresql":
        return f"(properties ->> '{name}')"
    return f"json_extract(properties, '$.{name}')"


def _raw_value(dialect: str, name: str) -> ColumnElement[Any]:
    """The stored text of property ``name`` of ``records`` (NULL when it has none)."""
    if not _SAFE_NAME.match(name):  # pragma: no cover - the store only makes such names
        raise SearchError("propertyName", f"{name!r} cannot be searched")
    column = t.records.c.properties
    path: ColumnElement[str] = literal_column(
        f"'{name}'" if dialect == "postgresql" else f"'$.{name}'", String
    )
    if dialect == "postgresql":
        value: ColumnElement[Any] = column.op("->>", return_type=String)(path)
    else:
        value = func.json_extract(column, path, type_=String)
    if name in COUNT_PROPERTIES:
        value = func.coalesce(value, literal_column("'0'"), type_=String)
    return value


@dataclass(frozen=True)
class _Target:
    """What a filter or sort reads: an expression and how its values compare."""

    expr: ColumnElement[Any]  # the typed expression compared and sorted
    raw: ColumnElement[Any]  # the stored text (for HAS_PROPERTY), or the column
    prop: PropertyDef | None
    kind: str  # string, number, date, datetime, enumeration, checkbox, bool, id, instant
    dialect: str


def _target(dialect: str, obj: LoadedObject, name: str, path: str) -> _Target:
    prop = obj.properties.get(name)
    if prop is None:
        known = [*obj.properties, ASSOCIATION_PREFIX + "<object>"]
        state = " (it is archived)" if name in obj.all_properties else ""
        raise SearchError(path, f"{obj.name} has no property {name!r}{state}{suggest(name, known)}")
    if name in _COLUMNS:
        column = t.records.c[_COLUMNS[name]]
        return _Target(column, column, prop, "id" if name == "hs_object_id" else "instant", dialect)
    raw = _raw_value(dialect, name)
    kind = prop.type
    if kind == "enumeration" and prop.field_type == "checkbox":
        kind = "checkbox"
    expr: ColumnElement[Any]
    if kind == "number":
        expr = cast(raw, Numeric() if dialect == "postgresql" else Float())
    elif kind == "string":
        expr = func.lower(raw, type_=String)
    else:
        expr = raw
    return _Target(expr, raw, prop, kind, dialect)


def _ordered(dialect: str, target: _Target) -> ColumnElement[Any]:
    """The expression for <, > and ORDER BY: byte order on PostgreSQL too, as on SQLite."""
    if dialect == "postgresql" and target.kind not in ("number", "id", "instant"):
        return target.expr.collate("C")
    return target.expr


def sort_key(
    dialect: str, obj: LoadedObject, sort: Sort, *, where: str = "sorts"
) -> tuple[ColumnElement[Any], str]:
    """The ORDER BY expression of a sort, and the kind of its values (for cursors)."""
    target = _target(dialect, obj, sort.property, f"{where}.propertyName")
    return _ordered(dialect, target), target.kind


def record_condition(
    dialect: str,
    obj: LoadedObject,
    groups: Sequence[FilterGroup],
    *,
    now: datetime,
    where: str = "filterGroups",
) -> ColumnElement[bool]:
    """Live records of ``obj`` matching any group (all of its filters); no groups: all."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    check_limits(groups, where=where)
    archived = t.records.c.archived
    if not groups:
        # (object_type_id, archived, id) then serves the default order by id directly.
        return and_(
            t.records.c.object_type_id == obj.id,
            archived.is_(False),
            t.records.c.merged_into_id.is_(None),
        )
    # "archived IS NOT true" (archived is never NULL) rather than "archived IS false", so that
    # SQLite, without statistics, does not prefer (object_type_id, archived, id), which saves
    # the sort by id, over the expression index of an IN filter.
    live = and_(
        t.records.c.object_type_id == obj.id,
        archived.is_not(True),
        t.records.c.merged_into_id.is_(None),
    )
    compiled = [
        and_(
            *(
                _filter(dialect, obj, f, now, f"{where}[{i}].filters[{j}]")
                for j, f in enumerate(group.filters)
            )
        )
        for i, group in enumerate(groups)
    ]
    return and_(live, or_(*compiled) if len(compiled) > 1 else compiled[0])


def _filter(
    dialect: str, obj: LoadedObject, f: Filter, now: datetime, path: str
) -> ColumnElement[bool]:
    f = _checked(path, f)
    if f.property.startswith(ASSOCIATION_PREFIX):
        return _association(f, path)
    target = _target(dialect, obj, f.property, f"{path}.propertyName")
    op = f.operator
    present = target.raw.is_not(None)
    if op == "HAS_PROPERTY":
        return present
    if op == "NOT_HAS_PROPERTY":
        return target.raw.is_(None)
    if target.kind == "checkbox":
        return _checkbox(dialect, target, f, path)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        if target.kind not in ("string", "enumeration"):
            raise SearchError(
                f"{path}.operator", f"{op} applies to text properties, not {target.kind}"
            )
        matched = func.lower(target.raw, type_=String).like(
            _like_pattern(f.value or ""), escape="!"
        )
        return and_(present, matched) if op == "CONTAINS_TOKEN" else or_(~present, not_(matched))
    if op in _RELATIVE:
        return _relative(target, f, now, path)
    if op in ("IN", "NOT_IN"):
        values = [_bind(target, v, f"{path}.values[{k}]") for k, v in enumerate(f.values)]
        inside = target.expr.in_(values)
        return inside if op == "IN" else or_(~present, not_(inside))
    value = _bind(target, f.value, f"{path}.value")
    if op == "EQ":
        equal: ColumnElement[bool] = target.expr == value
        return equal
    if op == "NEQ":
        return or_(~present, target.expr != value)
    ordered = _ordered(dialect, target)
    if op == "BETWEEN":
        high = _bind(target, f.high_value, f"{path}.highValue")
        return and_(ordered >= value, ordered <= high)
    return ordered.op(_COMPARE[op], is_comparison=True)(value)


def _bind(target: _Target, value: str | None, path: str) -> Any:
    """The filter value in the form the stored values take, so they compare as their type."""
    assert value is not None
    prop = target.prop
    assert prop is not None

    def refuse(rule: str) -> SearchError:
        shown = repr(value) if len(value) <= 80 else repr(value[:77]) + "..."
        return SearchError(path, f"{shown} does not fit {prop.name} ({target.kind}): {rule}")

    kind = target.kind
    try:
        if kind == "string":
            return literal(value.lower(), String)
        if kind == "id":
            if not re.fullmatch(r"\d{1,19}", value.strip()):
                raise refuse("expected a record id")
            return int(value)
        if kind == "number":
            number = canonical_value(prop.object, prop, value)
            assert number is not None
            return (
                literal(Decimal(number), Numeric())
                if target.dialect == "postgresql"
                else float(number)
            )
        if kind == "instant":
            return _instant(value, refuse)
        if kind == "datetime":
            return literal(format_datetime(_instant(value, refuse)), String)
        if kind == "date":
            return literal(_day(value, refuse), String)
        if kind == "bool":
            return literal(canonical_value(prop.object, prop, value), String)
        if kind == "enumeration":
            if value not in prop.option_values and not (
                prop.field_type == "booleancheckbox" and value.lower() in ("true", "false")
            ):
                raise refuse(
                    f"not an option{suggest(value, prop.option_values)}; "
                    f"options: {', '.join(sorted(prop.option_values)[:12])}"
                )
            return literal(value.lower() if prop.field_type == "booleancheckbox" else value, String)
    except ValidationError as exc:
        raise refuse(exc.rule) from None
    raise refuse("cannot be compared")  # pragma: no cover


def _instant(value: str, refuse: Any) -> datetime:
    text = value.strip()
    if _DATE_ONLY.match(text):
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        except ValueError:
            raise refuse("not a calendar date (YYYY-MM-DD)") from None

    def fail(rule: str) -> ValidationError:
        return ValidationError("search", "value", value, rule)

    return parse_datetime(text, fail)


def _day(value: str, refuse: Any) -> str:
    text = value.strip()
    if "T" in text or " " in text:
        return _instant(text, refuse).date().isoformat()
    if _DATE_ONLY.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise refuse("not a calendar date (YYYY-MM-DD)") from None
    if re.fullmatch(r"-?\d{1,15}", text):
        return _instant(text, refuse).date().isoformat()
    raise refuse("expected a date as YYYY-MM-DD or epoch milliseconds")


def _relative(target: _Target, f: Filter, now: datetime, path: str) -> ColumnElement[bool]:
    text = (f.value or "").strip()
    if not re.fullmatch(r"\d{1,6}", text):
        raise SearchError(
            f"{path}.value", f"{text[:40]!r}: expected a number of days (0 to 999999)"
        )
    if target.kind not in ("date", "datetime", "instant"):
        raise SearchError(f"{path}.operator", f"{f.operator} applies to dates, not {target.kind}")
    try:
        threshold = now.astimezone(UTC) - timedelta(days=int(text))
    except OverflowError:
        raise SearchError(f"{path}.value", f"{text} days is before year 1") from None
    low: Any
    high: Any
    if target.kind == "instant":
        low, high = threshold, now.astimezone(UTC)
    elif target.kind == "date":
        low, high = threshold.date().isoformat(), now.astimezone(UTC).date().isoformat()
    else:
        low, high = format_datetime(threshold), format_datetime(now)
    expr = target.expr
    if target.kind != "instant":
        expr = _ordered(target.dialect, target)
        low, high = literal(low, String), literal(high, String)
    if f.operator == "MORE_THAN_DAYS_AGO":
        before: ColumnElement[bool] = expr < low
        return before
    return and_(expr >= low, expr <= high)


def _checkbox(dialect: str, target: _Target, f: Filter, path: str) -> ColumnElement[bool]:
    """Multi-value checkbox: EQ/IN = has the option(s), NEQ/NOT_IN = has none of them."""
    prop = target.prop
    assert prop is not None
    op = f.operator
    if op in ("EQ", "NEQ"):
        wanted = [v.strip() for v in (f.value or "").split(";") if v.strip()]
    elif op in ("IN", "NOT_IN"):
        wanted = list(f.values)
    else:
        raise SearchError(
            f"{path}.operator",
            f"{op} does not apply to the checkbox {prop.name}; use EQ, NEQ, IN, NOT_IN, "
            "HAS_PROPERTY or NOT_HAS_PROPERTY",
        )
    for value in wanted:
        if value not in prop.option_values:
            raise SearchError(
                f"{path}.value",
                f"{value[:80]!r} is not an option of {prop.name}{suggest(value, prop.option_values)}",
            )
    wrapped = literal_column("';'", String).concat(target.raw).concat(literal_column("';'", String))
    find = func.strpos if dialect == "postgresql" else func.instr
    has = [find(wrapped, literal(f";{v};", String)) > 0 for v in wanted]
    present = target.raw.is_not(None)
    if op == "EQ":
        return and_(present, *has)
    if op == "IN":
        return and_(present, or_(*has))
    return or_(~present, not_(or_(*has)))


def _like_pattern(value: str) -> str:
    """``*`` is a wildcard over the whole value; without one the text may appear anywhere."""
    escaped = value.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    if "*" in escaped:
        return escaped.replace("*", "%")
    return f"%{escaped}%"


def association_condition(
    object_type_ids: Sequence[int], f: Filter, path: str
) -> ColumnElement[bool]:
    """Kept for callers that resolved the object themselves; see ``_association``."""
    return _association(f, path, object_type_ids)


def _association(
    f: Filter, path: str, type_ids: Sequence[int] | None = None
) -> ColumnElement[bool]:
    """``associations.<object>``: EQ/IN id = associated with it; HAS_PROPERTY = with any."""
    name = f.property[len(ASSOCIATION_PREFIX) :].strip().lower()
    if not name:
        raise SearchError(
            f"{path}.propertyName", "expected associations.<object>, e.g. associations.contact"
        )
    other = t.records.alias("assoc_target")
    ot = t.object_types.alias("assoc_object")
    a = t.associations.alias("assoc")
    linked = (
        select(literal(1))
        .select_from(
            a.join(other, other.c.id == a.c.to_record_id).join(
                ot, ot.c.id == other.c.object_type_id
            )
        )
        .where(
            a.c.from_record_id == t.records.c.id,
            other.c.archived.is_(False),
            other.c.merged_into_id.is_(None),
            ot.c.id.in_(type_ids)
            if type_ids is not None
            else or_(
                ot.c.name == name,
                ot.c.type_id == name,
                func.lower(ot.c.singular_label) == name,
                func.lower(ot.c.plural_label) == name,
            ),
        )
    )
    op = f.operator
    if op == "HAS_PROPERTY":
        return exists(linked)
    if op == "NOT_HAS_PROPERTY":
        return ~exists(linked)
    if op in ("EQ", "NEQ", "IN", "NOT_IN"):
        raw_ids = [f.value] if op in ("EQ", "NEQ") else list(f.values)
        ids = []
        for k, raw in enumerate(raw_ids):
            if raw is None or not re.fullmatch(r"\s*\d{1,19}\s*", raw):
                where = f"{path}.value" if op in ("EQ", "NEQ") else f"{path}.values[{k}]"
                raise SearchError(where, f"{(raw or '')[:40]!r} is not a record id")
            ids.append(int(raw))
        found = exists(linked.where(a.c.to_record_id.in_(ids)))
        return found if op in ("EQ", "IN") else ~found
    raise SearchError(
        f"{path}.operator",
        f"{op} does not apply to {f.property}; use EQ, NEQ, IN, NOT_IN, HAS_PROPERTY "
        "or NOT_HAS_PROPERTY",
    )
