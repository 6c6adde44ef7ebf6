"""The external system the ``memory`` connector talks to: records held in this process.

A :class:`MemorySystem` is what a real connector's database or API is: it keeps records with
ids it hands out, a change timestamp and a version that every change bumps, refuses what a
real system refuses (an unknown field, a second record with a unique value, a wrong token),
and can be made to misbehave the way real ones do (a create whose answer is lost). Systems are
found by name (:func:`system`), so every connector configured with ``system: demo`` in one
process sees the same records, and a test can play "another user" of it directly
(:meth:`MemorySystem.add`, :meth:`MemorySystem.edit`, :meth:`MemorySystem.remove`).

Nothing here knows the connector contract; ``connectors/memory/connector.py`` speaks it.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "MemoryRecord",
    "MemorySystem",
    "StaleVersion",
    "SystemRefusal",
    "forget_systems",
    "system",
]


class SystemRefusal(Exception):
    """The system refused one operation (an unknown field, a taken unique value, no such id)."""


class StaleVersion(SystemRefusal):
    """A conditional change named a version the record has moved past."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the record changed since it was read (now version {current})")
        self.current = current


@dataclass(frozen=True)
class MemoryRecord:
    """One record as the system keeps it; ``seq`` orders ids (they are decimal text)."""

    id: str
    fields: Mapping[str, Any]
    updated_at: datetime
    version: int
    deleted: bool = False
    #: The idempotency key of the create that made it, when the create sent one.
    create_key: str | None = None

    @property
    def seq(self) -> int:
        return int(self.id)


@dataclass
class _Object:
    records: dict[str, MemoryRecord] = field(default_factory=dict)
    #: Fields that no two live records may share a value of (compared as given).
    unique: tuple[str, ...] = ()
    #: The fields a record may have; None allows any.
    fields: tuple[str, ...] | None = None
    #: Keep deleted records as tombstones (reported by changes and reads) instead of dropping.
    tombstones: bool = False


class MemorySystem:
    """Records by object, with the clock, the token and the faults of one external system.

    Thread-safe: every operation runs under one lock. Timestamps strictly increase (one
    microsecond apart at least), so two changes never tie unless a test backdates one.
    """

    def __init__(self, name: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.name = name
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._objects: dict[str, _Object] = {}
        self._ids = itertools.count(1)
        self._versions = itertools.count(1)
        self._last = datetime(2000, 1, 1, tzinfo=UTC)
        #: The token a connector must present; None accepts any.
        self.token: str | None = None
        #: Creates still to lose the answer of (made, then the answer never arrives).
        self.lost_create_answers = 0
        #: Every operation the connectors asked for, as ``(operation, object, count)``.
        self.calls: list[tuple[str, str, int]] = []

    # -- set-up ----------------------------------------------------------------------

    def define(
        self,
        name: str,
        *,
        unique: Iterable[str] = (),
        fields: Iterable[str] | None = None,
        tombstones: bool = False,
    ) -> None:
        """Declare an object's rules; records already held are kept."""
        with self._lock:
            obj = self._objects.setdefault(name, _Object())
            obj.unique = tuple(unique)
            obj.fields = tuple(fields) if fields is not None else None
            obj.tombstones = tombstones

    def lose_create_answers(self, count: int = 1) -> None:
        """Make the next ``count`` creates happen but lose their answers (a dropped line)."""
        with self._lock:
            self.lost_create_answers = count

    def take_lost_answer(self) -> bool:
        """Whether the create just made loses its answer (counts the fault down)."""
        with self._lock:
            if self.lost_create_answers <= 0:
                return False
            self.lost_create_answers -= 1
            return True

    def clear(self) -> None:
        """Forget every record (object rules, token and faults stay)."""
        with self._lock:
            for obj in self._objects.values():
                obj.records.clear()

    # -- what every user of the system can do ---------------------------------------

    def authorise(self, token: str | None) -> bool:
        return self.token is None or token == self.token

    def record_call(self, operation: str, name: str, count: int) -> None:
        with self._lock:
            self.calls.append((operation, name, count))

    def objects(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def records(self, name: str, *, deleted: bool = False) -> list[MemoryRecord]:
        """The object's records in id order; tombstones only when asked for."""
        with self._lock:
            held = self._object(name).records.values()
            return sorted((r for r in held if deleted or not r.deleted), key=lambda r: r.seq)

    def get(self, name: str, record_id: str) -> MemoryRecord | None:
        with self._lock:
            return self._object(name).records.get(record_id)

    def add(
        self,
        name: str,
        values: Mapping[str, Any],
        *,
        updated_at: datetime | None = None,
        create_key: str | None = None,
    ) -> MemoryRecord:
        """Create a record; ``updated_at`` backdates it (a late commit), else now."""
        with self._lock:
            obj = self._object(name)
            self._check(name, obj, values, None)
            record = MemoryRecord(
                id=str(next(self._ids)),
                fields=copy.deepcopy(dict(values)),
                updated_at=updated_at or self._tick(),
                version=next(self._versions),
                create_key=create_key,
            )
            obj.records[record.id] = record
            return record

    def edit(
        self,
        name: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        updated_at: datetime | None = None,
        if_version: int | None = None,
    ) -> MemoryRecord:
        """Change some fields of a live record; ``if_version`` makes it conditional."""
        with self._lock:
            obj = self._object(name)
            current = obj.records.get(record_id)
            if current is None or current.deleted:
                raise SystemRefusal(f"{name} has no record {record_id}")
            if if_version is not None and current.version != if_version:
                raise StaleVersion(current.version)
            self._check(name, obj, values, record_id)
            changed = replace(
                current,
                fields={**current.fields, **copy.deepcopy(dict(values))},
                updated_at=updated_at or self._tick(),
                version=next(self._versions),
            )
            obj.records[record_id] = changed
            return changed

    def remove(self, name: str, record_id: str, *, if_version: int | None = None) -> bool:
        """Delete a record (a tombstone when the object keeps them); False if already gone."""
        with self._lock:
            obj = self._object(name)
            current = obj.records.get(record_id)
            if current is None or current.deleted:
                return False
            if if_version is not None and current.version != if_version:
                raise StaleVersion(current.version)
            if obj.tombstones:
                obj.records[record_id] = replace(
                    current, deleted=True, updated_at=self._tick(), version=next(self._versions)
                )
            else:
                del obj.records[record_id]
            return True

    def by_create_key(self, name: str, key: str) -> MemoryRecord | None:
        with self._lock:
            for record in self.records(name):
                if record.create_key == key:
                    return record
            return None

    # -- inside ----------------------------------------------------------------------

    def _object(self, name: str) -> _Object:
        obj = self._objects.get(name)
        if obj is None:
            known = ", ".join(sorted(self._objects)) or "(none)"
            raise SystemRefusal(f"system {self.name} has no object {name!r}; objects: {known}")
        return obj

    def _tick(self) -> datetime:
        now = max(self._clock(), self._last + timedelta(microseconds=1))
        self._last = now
        return now

    def _check(self, name: str, obj: _Object, values: Mapping[str, Any], but: str | None) -> None:
        if obj.fields is not None:
            unknown = sorted(set(values) - set(obj.fields))
            if unknown:
                raise SystemRefusal(
                    f"{name} has no field {', '.join(map(repr, unknown))}; "
                    f"fields: {', '.join(obj.fields)}"
                )
        for unique in obj.unique:
            value = values.get(unique)
            if value is None:
                continue
            for other in obj.records.values():
                if other.id != but and not other.deleted and other.fields.get(unique) == value:
                    raise SystemRefusal(
                        f"{name} {other.id} already has {unique} {value!r} (it is unique)"
                    )


_systems: dict[str, MemorySystem] = {}
_systems_lock = threading.Lock()


def system(name: str) -> MemorySystem:
    """The process's system of this name, made empty on first use."""
    with _systems_lock:
        found = _systems.get(name)
        if found is None:
            found = _systems[name] = MemorySystem(name)
        return found


def forget_systems(*names: str) -> None:
    """Drop systems by name (every one when none is named), so the next use starts empty."""
    with _systems_lock:
        for name in names or tuple(_systems):
            _systems.pop(name, None)
