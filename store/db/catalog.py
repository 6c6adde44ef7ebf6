"""Reading object and property definitions out of the database into domain values.

Definitions change rarely and are read by nearly every transaction (three SELECTs: the
object, its properties, its groups), so each engine keeps what it loaded in a
:class:`CatalogCache` shared by its transactions and threads, valid under the catalogue
version it was loaded at. The version lives in the database (``catalog_version``, one row):
every change to ``object_types``, ``properties`` or ``property_groups`` calls
:func:`catalog_changed` in its own transaction, which bumps it. A transaction reads the
version once, at its first definition (a primary-key lookup), and uses the cache only if the
version is the one the cache holds; so another process's (or another ``Store``'s) change is
seen by the very next transaction here, as it was when every transaction loaded its own.

Why that is safe: the version is read before the definitions, so what is loaded is at least
as new as the version it is kept under (on PostgreSQL's read committed a later statement may
see a newer commit, never an older one); and a transaction that changed the catalogue itself
neither reads nor fills the cache (its changes are not committed, and may never be).

A SQLite write transaction checks the version at its end instead (:func:`defer_check`): it
holds the database's one write lock from its ``BEGIN IMMEDIATE`` to its commit, so nothing
can change the catalogue while it runs, and the version is the same in every statement of it.
It takes the cached definitions under the version the cache holds, and the store checks that
version in the transaction's last statement (the journal append, or a lone SELECT when there
is none) or when its work raises; if the catalogue moved, :class:`CatalogMoved` rolls the
transaction back and the store runs it again from the start with definitions read afresh, as
it runs again a write that lost a race for a unique value. What commits was always worked out
from the definitions current when it commits, and the usual write saves the version's SELECT.
"""

from __future__ import annotations

import difflib
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, or_, select, update

from store.db import tables as t
from store.errors import NotFoundError
from store.models import GroupSpec, ObjectSchema, OptionSpec, PropertyDef

__all__ = [
    "CatalogCache",
    "CatalogMoved",
    "LoadedObject",
    "cached_with_catalog",
    "catalog_changed",
    "changed_here",
    "check_deferred",
    "defer_check",
    "deferred_version",
    "enable_cache",
    "forget_cache",
    "load_object",
    "load_objects",
    "property_from_row",
    "suggest",
]

T = TypeVar("T")


@dataclass(frozen=True)
class LoadedObject:
    """An object schema with its database id and every property, archived ones included."""

    id: int
    schema: ObjectSchema
    all_properties: dict[str, PropertyDef]

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def properties(self) -> dict[str, PropertyDef]:
        return self.schema.properties

    def property(self, name: str) -> PropertyDef:
        """A live property, or a NotFoundError that suggests the nearest names."""
        found = self.schema.properties.get(name)
        if found is not None:
            return found
        if name in self.all_properties:
            raise NotFoundError(
                f"{self.name}.{name} is archived; restore it with "
                f"`syncd properties update {self.name} {name} --restore`",
                object=self.name,
                property=name,
            )
        raise NotFoundError(
            f"{self.name} has no property {name!r}{suggest(name, self.schema.properties)}",
            object=self.name,
            property=name,
        )


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'email'?"`` when a near name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def property_from_row(object_name: str, row: Mapping[Any, Any]) -> PropertyDef:
    return PropertyDef(
        object=object_name,
        name=row["name"],
        label=row["label"],
        type=row["type"],
        field_type=row["field_type"],
        group=row["group_name"],
        description=row["description"],
        options=tuple(
            OptionSpec(
                value=o["value"],
                label=o["label"],
                display_order=o.get("display_order", 0),
                hidden=o.get("hidden", False),
            )
            for o in row["options"]
        ),
        unique=row["unique_value"],
        read_only=row["read_only"],
        format=row["format"],
        builtin=row["builtin"],
        archived=row["archived"],
        display_order=row["display_order"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _schema(
    row: Mapping[str, Any], props: list[PropertyDef], groups: tuple[GroupSpec, ...]
) -> ObjectSchema:
    return ObjectSchema(
        name=row["name"],
        type_id=row["type_id"],
        singular_label=row["singular_label"],
        plural_label=row["plural_label"],
        primary_display_property=row["primary_display_property"],
        required_properties=tuple(row["required_properties"]),
        searchable_properties=tuple(row["searchable_properties"]),
        secondary_display_properties=tuple(row["secondary_display_properties"]),
        description=row["description"],
        custom=row["custom"],
        activity=row["activity"],
        archived=row["archived"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        properties={p.name: p for p in props if not p.archived},
        groups=groups,
    )


class CatalogCache:
    """Definitions loaded at one catalogue version, shared by an engine's transactions.

    The values are frozen (``LoadedObject``, ``ObjectSchema``, ``PropertyDef``) and treated
    as read-only by every caller, so threads share them without copies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._entries: dict[Hashable, Any] = {}
        self.loads = 0  # how many times definitions were read from the database (for tests)

    def get(self, version: int, key: Hashable) -> Any:
        with self._lock:
            return self._entries.get(key) if version == self._version else None

    def put(self, version: int, key: Hashable, value: Any) -> None:
        with self._lock:
            self.loads += 1
            if version != self._version:
                self._version, self._entries = version, {}
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._version, self._entries = None, {}

    def version(self) -> int | None:
        """The version the cache holds definitions of, None when it holds none."""
        with self._lock:
            return self._version if self._entries else None


class CatalogMoved(Exception):
    """The catalogue changed before a transaction that used cached definitions unchecked
    began: it is rolled back and run again (``Store._write``)."""


# One cache per engine, so two ``Store`` objects on one database behave like two processes.
_CACHES: weakref.WeakKeyDictionary[Engine, CatalogCache] = weakref.WeakKeyDictionary()
# ``Connection.info`` key: (the transaction it was read in, the version or _BYPASS).
_TX_VERSION = "syncd_catalog_version"
# ``Connection.info`` key: (the transaction whose version check is deferred, the version it
# took unchecked or None while it took none).
_TX_DEFERRED = "syncd_catalog_deferred"
_BYPASS = -1
# Built once: SQLAlchemy builds a statement's cache key on each execution of a new statement
# object (half the cost of this read); a module-level one keeps its key.
_VERSION = select(t.catalog_version.c.version).where(t.catalog_version.c.id == 1)


def enable_cache(engine: Engine) -> CatalogCache:
    """Keep ``engine``'s definitions across transactions (``Store`` does it when it opens)."""
    cache = _CACHES.get(engine)
    if cache is None:
        cache = _CACHES[engine] = CatalogCache()
    return cache


def catalog_changed(connection: Connection) -> None:
    """This transaction changed definitions: bump the version every process checks, and
    read definitions straight from the database until it ends (its own changes are visible
    to it alone, and are not committed yet)."""
    taken = deferred_version(connection)
    bumped = connection.execute(
        update(t.catalog_version)
        .where(t.catalog_version.c.id == 1)
        .values(version=t.catalog_version.c.version + 1)
        .returning(t.catalog_version.c.version)
    ).scalar_one_or_none()
    if taken is not None:
        # Cached definitions used so far were checked against the version just raised.
        if bumped is None or int(bumped) - 1 != taken:
            raise CatalogMoved
        _deferred_done(connection)
    transaction = connection.get_transaction()
    if transaction is not None:
        connection.info[_TX_VERSION] = (weakref.ref(transaction), _BYPASS)


def changed_here(connection: Connection) -> bool:
    """Whether this transaction changed definitions (called :func:`catalog_changed`)."""
    memo = connection.info.get(_TX_VERSION)
    return memo is not None and memo[1] == _BYPASS and memo[0]() is connection.get_transaction()


def forget_cache(engine: Engine) -> None:
    """Drop ``engine``'s cached definitions: the next transaction reads the version first."""
    cache = _CACHES.get(engine)
    if cache is not None:
        cache.clear()


def defer_check(connection: Connection) -> None:
    """This transaction holds the only write lock of its database until it commits (a
    SQLite write): it may take cached definitions without reading the version, and the
    caller checks that version before commit (:func:`check_deferred`)."""
    transaction = connection.get_transaction()
    if transaction is not None and connection.engine in _CACHES:
        connection.info[_TX_DEFERRED] = (weakref.ref(transaction), None)


def deferred_version(connection: Connection) -> int | None:
    """The version this transaction took cached definitions under without checking it
    yet, or None (nothing taken, or already checked)."""
    memo = connection.info.get(_TX_DEFERRED)
    if memo is None or memo[0]() is not connection.get_transaction():
        return None
    return memo[1]  # type: ignore[no-any-return]


def check_deferred(connection: Connection, found: int | None = None) -> None:
    """Check the version this transaction took unchecked (``found``: the version as a
    statement of the transaction already read it; else one SELECT reads it now).
    Raises :class:`CatalogMoved` if it is not the one the definitions were taken under."""
    taken = deferred_version(connection)
    if taken is None:
        return
    if found is None:
        read = connection.execute(_VERSION).scalar_one_or_none()
        found = None if read is None else int(read)
    if found != taken:
        raise CatalogMoved
    _deferred_done(connection)


def _deferred_done(connection: Connection) -> None:
    connection.info.pop(_TX_DEFERRED, None)


def _version(connection: Connection) -> int:
    """The catalogue version this transaction sees, read once per transaction."""
    transaction = connection.get_transaction()
    memo = connection.info.get(_TX_VERSION)
    if transaction is not None and memo is not None and memo[0]() is transaction:
        return int(memo[1])
    deferred = connection.info.get(_TX_DEFERRED)
    if transaction is not None and deferred is not None and deferred[0]() is transaction:
        cache = _CACHES.get(connection.engine)
        held = cache.version() if cache is not None else None
        if held is not None:
            # Checked before commit (check_deferred), where a move runs the work again.
            connection.info[_TX_DEFERRED] = (deferred[0], held)
            connection.info[_TX_VERSION] = (deferred[0], held)
            return held
    found = connection.execute(_VERSION).scalar_one_or_none()
    version = _BYPASS if found is None else int(found)
    transaction = connection.get_transaction()
    if transaction is not None:
        connection.info[_TX_VERSION] = (weakref.ref(transaction), version)
    return version


def _cached(connection: Connection, key: Hashable, load: Callable[[], T]) -> T:
    cache = _CACHES.get(connection.engine)
    if cache is None:
        return load()
    version = _version(connection)
    if version == _BYPASS:
        return load()
    found = cache.get(version, key)
    if found is None:
        # Loaded under an unchecked version, it would be kept under a version it may not be
        # of: check it first (a miss in a warm cache is rare).
        check_deferred(connection)
        found = load()
        cache.put(version, key, found)
    return found  # type: ignore[no-any-return]


def cached_with_catalog(connection: Connection, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``, kept in the catalogue cache: for something that changes only in a
    transaction that calls :func:`catalog_changed` (which dynamic lists exist, say).
    ``load`` must not return None."""
    return _cached(connection, ("derived", key), load)


def load_objects(connection: Connection, *, include_archived: bool = False) -> list[LoadedObject]:
    """Every (live) object with its definitions; a fresh list, its objects shared."""
    return list(
        _cached(
            connection,
            ("*", include_archived),
            lambda: tuple(_load_objects(connection, include_archived=include_archived)),
        )
    )


def _load_objects(connection: Connection, *, include_archived: bool) -> list[LoadedObject]:
    query = select(t.object_types).order_by(t.object_types.c.id)
    if not include_archived:
        query = query.where(t.object_types.c.archived.is_(False))
    return _load(connection, [dict(r) for r in connection.execute(query).mappings()])


def load_object(
    connection: Connection, name: str, *, include_archived: bool = False
) -> LoadedObject:
    """An object by name (``contacts``), HubSpot type id (``0-1``) or singular (``contact``)."""
    key = name.strip().lower() if isinstance(name, str) else ""
    return _cached(
        connection,
        (key, include_archived),
        lambda: _load_object(connection, name, include_archived=include_archived),
    )


def _load_object(connection: Connection, name: str, *, include_archived: bool) -> LoadedObject:
    ot = t.object_types
    key = name.strip().lower() if isinstance(name, str) else ""
    rows = [
        dict(r)
        for r in connection.execute(
            select(ot).where(or_(ot.c.name == key, ot.c.type_id == key))
        ).mappings()
    ]
    if not rows:
        rows = [
            dict(r)
            for r in connection.execute(select(ot)).mappings()
            if r["singular_label"].lower() == key or r["plural_label"].lower() == key
        ]
    if rows and (include_archived or not rows[0]["archived"]):
        return _load(connection, rows[:1])[0]
    known = connection.scalars(select(ot.c.name).where(ot.c.archived.is_(False))).all()
    state = " (it is archived)" if rows else ""
    raise NotFoundError(
        f"no object {name!r}{state}{suggest(key, known)}; known objects: {', '.join(known)}",
        object=name,
    )


def _load(connection: Connection, rows: list[dict[str, Any]]) -> list[LoadedObject]:
    if not rows:
        return []
    by_id = {row["id"]: row for row in rows}
    props: dict[int, list[PropertyDef]] = {i: [] for i in by_id}
    groups: dict[int, list[GroupSpec]] = {i: [] for i in by_id}
    for prop_row in connection.execute(
        select(t.properties)
        .where(t.properties.c.object_type_id.in_(by_id))
        .order_by(t.properties.c.display_order, t.properties.c.id)
    ).mappings():
        object_id = prop_row["object_type_id"]
        props[object_id].append(property_from_row(by_id[object_id]["name"], prop_row))
    for group_row in connection.execute(
        select(t.property_groups)
        .where(
            t.property_groups.c.object_type_id.in_(by_id),
            t.property_groups.c.archived.is_(False),
        )
        .order_by(t.property_groups.c.display_order, t.property_groups.c.id)
    ).mappings():
        groups[group_row["object_type_id"]].append(
            GroupSpec(group_row["name"], group_row["label"], group_row["display_order"])
        )
    return [
        LoadedObject(
            id=row["id"],
            schema=_schema(row, props[row["id"]], tuple(groups[row["id"]])),
            all_properties={p.name: p for p in props[row["id"]]},
        )
        for row in rows
    ]
