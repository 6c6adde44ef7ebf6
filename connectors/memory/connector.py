"""The ``memory`` connector: the whole connector contract over a system held in this process.

For trying syncd without a database or an API (``type: memory`` in YAML, records seeded from
the options), and for tests: it behaves as the real connectors do where the contract leaves
them a choice, so code that works against it meets no surprise against them. Changes are read
by keyset paging on ``(updated_at, id)`` with a lookback on resume (as ``sql``); every record
carries a version, and updates and deletes are conditional on the version this connector last
read (as ``carddav``'s ``If-Match``), so an edit made outside meanwhile is refused, never
overwritten; a create with a match value adopts the record holding it (as ``hubspot``); a
create whose answer was lost (:meth:`MemorySystem.lose_create_answers`) is looked up by its
idempotency key, else its match value, else reported as maybe made (as ``rest``); a token the
system does not accept raises :class:`AuthError` on every call.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import (
    AuthError,
    ChangePage,
    Connector,
    ConnectorError,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from connectors.memory.options import MemoryObjectOptions, MemoryOptions
from connectors.memory.system import (
    MemoryRecord,
    MemorySystem,
    StaleVersion,
    SystemRefusal,
    system,
)

if TYPE_CHECKING:
    from connectors.http import HttpClients

__all__ = ["CHANGED_SINCE_READ", "MemoryConnector"]

CHANGED_SINCE_READ = "changed in the system since it was read; it will be read again"


class MemoryConnector(Connector[MemoryOptions]):
    """Reads and writes the records of one in-process :class:`MemorySystem`."""

    type_name: ClassVar[str] = "memory"
    options_model: ClassVar[type[ConnectorOptions]] = MemoryOptions

    def __init__(
        self, name: str, options: ConnectorOptions, *, http: HttpClients | None = None
    ) -> None:
        # ``http``: the daemon's clients, handed to every connector; this one needs none.
        super().__init__(name, options, http=http)
        self._opts = self.options
        self.system: MemorySystem = system(self._opts.system or name)
        known = set(self.system.objects())
        for object_name, obj in self._opts.objects.items():
            if object_name in known:
                continue  # another connector of this system declared it (and seeded it)
            self.system.define(
                object_name, unique=obj.unique, fields=obj.fields, tombstones=obj.tombstones
            )
            for values in obj.records:
                self.system.add(object_name, values)
        self._lock = threading.Lock()
        #: (object, id) -> the version this connector last read: what a write is based on.
        self._read: dict[tuple[str, str], int] = {}

    # -- the contract -------------------------------------------------------------------

    def check_object(self, external_object: str) -> str | None:
        try:
            self._object(external_object, "check", 0)
        except AuthError:
            raise  # refused credentials pause the sync (docs/connectors.md, check_object)
        except ConnectorError as exc:
            return str(exc)
        return None

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        if limit < 1:
            raise ConnectorError(f"connector {self.name}: limit must be at least 1, not {limit}")
        obj = self._object(external_object, "fetch_changes", limit)
        held = sorted(
            self.system.records(external_object, deleted=obj.tombstones),
            key=lambda r: (r.updated_at, r.seq),
        )
        if cursor is not None:
            after, after_seq = self._parse_cursor(cursor)
            if resume:
                since = after - timedelta(seconds=obj.lookback_seconds)
                held = [r for r in held if r.updated_at >= since]
            else:
                held = [r for r in held if (r.updated_at, r.seq) > (after, after_seq)]
        page = held[:limit]
        if not page:
            return ChangePage(records=[], cursor=cursor, has_more=False)
        last = page[-1]
        new_cursor: Cursor = {"updated_at": last.updated_at.isoformat(), "id": last.id}
        return ChangePage(
            records=[self._seen(external_object, r) for r in page],
            cursor=new_cursor,
            has_more=len(held) > limit,
        )

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        obj = self._object(external_object, "fetch_by_ids", len(ids))
        found: list[ExternalRecord] = []
        for record_id in dict.fromkeys(str(i) for i in ids):
            record = self.system.get(external_object, record_id)
            if record is not None and (obj.tombstones or not record.deleted):
                found.append(self._seen(external_object, record))
        return found

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        obj = self._object(external_object, "find_by", len(values))
        if obj.fields is not None and field_name not in obj.fields:
            raise ConnectorError(
                f"connector {self.name}: {external_object} has no field {field_name!r}; "
                f"fields: {', '.join(obj.fields)}",
                field=field_name,
            )
        asked = [v for v in dict.fromkeys(_hashable(v) for v in values) if v is not None]
        found: dict[Any, ExternalRecord] = {}
        for record in self.system.records(external_object):  # in id order: lowest id wins
            held = _hashable(record.fields.get(field_name))
            if held in asked and held not in found:
                found[held] = self._seen(external_object, record)
        return found

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Every create with a match value looks for a live record holding it first."""
        fields = self._options_of(external_object).fields
        return fields is None or field_name in fields

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        """By the create's idempotency key when the system keeps them, else by its match."""
        if not self._opts.idempotency_keys:
            return super().find_created(external_object, requests)
        self._object(external_object, "find_created", len(requests))
        checks: list[CreateCheck] = []
        for request in requests:
            record = self.system.by_create_key(external_object, request.key)
            seen = self._seen(external_object, record) if record is not None else None
            checks.append(CreateCheck(record=seen, safe=True))
        return checks

    def iter_ids(self, external_object: str) -> Iterator[str]:
        self._object(external_object, "iter_ids", 0)
        for record in self.system.records(external_object):
            yield record.id

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        self._object(external_object, "write", len(requests))
        results: list[WriteResult] = []
        for request in requests:
            try:
                if request.external_id is not None:
                    results.append(self._update(external_object, request))
                else:
                    results.append(self._create(external_object, request))
            except StaleVersion:
                self._forget(external_object, str(request.external_id))
                results.append(_failed(request.external_id, CHANGED_SINCE_READ, retriable=True))
            except SystemRefusal as exc:
                results.append(_failed(request.external_id, str(exc)))
        return results

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        return self.delete_versions(external_object, ids, [None] * len(ids))

    def delete_versions(
        self, external_object: str, ids: Sequence[str], versions: Sequence[str | None]
    ) -> list[WriteResult]:
        """Delete each record while it is at the given version, else at the one last read."""
        if len(ids) != len(versions):
            raise ConnectorError(
                f"connector {self.name}: {len(ids)} ids but {len(versions)} versions"
            )
        self._object(external_object, "delete", len(ids))
        results: list[WriteResult] = []
        for raw, version in zip(ids, versions, strict=True):
            record_id = str(raw)
            if version is not None and not version.isdigit():
                results.append(_failed(record_id, f"{version!r} is not a version of this system"))
                continue
            based_on = (
                int(version) if version is not None else self._based_on(external_object, record_id)
            )
            try:
                self.system.remove(external_object, record_id, if_version=based_on)
            except StaleVersion:
                self._forget(external_object, record_id)
                results.append(_failed(record_id, CHANGED_SINCE_READ, retriable=True))
                continue
            self._forget(external_object, record_id)
            results.append(WriteResult(WriteOutcome.DELETED, external_id=record_id))
        return results

    def close(self) -> None:
        with self._lock:
            self._read.clear()

    # -- writing ------------------------------------------------------------------------

    def _update(self, name: str, request: WriteRequest) -> WriteResult:
        record_id = str(request.external_id)
        _check_values(request.fields)
        based_on = self._based_on(name, record_id)
        record = self.system.edit(name, record_id, request.fields, if_version=based_on)
        return WriteResult(
            WriteOutcome.UPDATED, external_id=record.id, record=self._seen(name, record)
        )

    def _create(self, name: str, request: WriteRequest) -> WriteResult:
        _check_values(request.fields)
        keys = self._opts.idempotency_keys
        if keys:
            earlier = self.system.by_create_key(name, request.key)
            if earlier is not None:  # a repeated create: the system answers the first one
                return self._created(name, earlier)
        adopted = self._match(name, request)
        if adopted is not None:
            record = self.system.edit(name, adopted.id, request.fields, if_version=adopted.version)
            return self._created(name, record, matched=True)
        made = self.system.add(name, request.fields, create_key=request.key if keys else None)
        if not self.system.take_lost_answer():
            return self._created(name, made)
        # The record was made and its answer lost: ask the system, as a real connector must.
        found = self.system.by_create_key(name, request.key) if keys else self._match(name, request)
        if found is not None:
            return self._created(name, found)
        return WriteResult(
            WriteOutcome.FAILED,
            error=(
                f"connector {self.name}: the create's answer was lost and {name} cannot be "
                "searched for it (no idempotency key, no match value): it may exist; check, "
                "then run `syncd errors retry`"
            ),
            maybe_created=True,
        )

    def _match(self, name: str, request: WriteRequest) -> MemoryRecord | None:
        if request.match is None or request.match[1] in (None, ""):
            return None
        field_name, value = request.match
        wanted = _hashable(value)
        for record in self.system.records(name):
            if _hashable(record.fields.get(field_name)) == wanted:
                return record
        return None

    def _created(self, name: str, record: MemoryRecord, *, matched: bool = False) -> WriteResult:
        return WriteResult(
            WriteOutcome.CREATED,
            external_id=record.id,
            record=self._seen(name, record),
            matched=matched,
        )

    # -- helpers ------------------------------------------------------------------------

    def _object(self, name: str, operation: str, count: int) -> MemoryObjectOptions:
        """The object's options, once the system accepted the token; records the call."""
        token = self._opts.token.get_secret_value() if self._opts.token is not None else None
        if not self.system.authorise(token):
            raise AuthError(
                f"connector {self.name}: memory system {self.system.name} refused the token; "
                "check token:",
                connector=self.name,
            )
        obj = self._options_of(name)
        if name not in self.system.objects():
            raise ConnectorError(
                f"connector {self.name}: memory system {self.system.name} has no object {name!r}"
            )
        self.system.record_call(operation, name, count)
        return obj

    def _options_of(self, name: str) -> MemoryObjectOptions:
        obj = self._opts.objects.get(name)
        if obj is None:
            known = ", ".join(sorted(self._opts.objects)) or "(none)"
            raise ConnectorError(
                f"connector {self.name}: unknown object {name!r}; configured objects: {known}",
                object=name,
            )
        return obj

    def _seen(self, name: str, record: MemoryRecord) -> ExternalRecord:
        """The record as the contract carries it; its version becomes what writes are based on."""
        with self._lock:
            self._read[(name, record.id)] = record.version
        declared = self._options_of(name).fields
        # A system with a schema answers every field, null when never written (as a table
        # or most APIs do); the engine reads a field that is absent as "not provided".
        fields = (
            {f: record.fields.get(f) for f in declared}
            if declared is not None
            else dict(record.fields)
        )
        return ExternalRecord(
            id=record.id,
            fields=fields,
            updated_at=record.updated_at,
            deleted=record.deleted,
            version=str(record.version),
        )

    def _based_on(self, name: str, record_id: str) -> int | None:
        with self._lock:
            return self._read.get((name, record_id))

    def _forget(self, name: str, record_id: str) -> None:
        with self._lock:
            self._read.pop((name, record_id), None)

    def _parse_cursor(self, cursor: Cursor) -> tuple[datetime, int]:
        try:
            moment = datetime.fromisoformat(cursor["updated_at"])
            seq = int(cursor["id"])
            if moment.tzinfo is None:
                raise ValueError("the time has no zone")
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(
                f"connector {self.name}: cursor {cursor!r} is not a memory cursor ({exc})"
            ) from None
        return moment, seq


def _failed(external_id: str | None, error: str, *, retriable: bool = False) -> WriteResult:
    return WriteResult(
        WriteOutcome.FAILED, external_id=external_id, error=error, retriable=retriable
    )


def _hashable(value: Any) -> Any:
    """A value as a dict key: lists and dicts (which match nothing) become None."""
    return None if isinstance(value, list | dict) else value


def _check_values(values: Mapping[str, Any], path: str = "") -> None:
    """Refuse what a JSON system could not hold (a set, bytes, NaN), naming the field."""
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        if not isinstance(key, str):
            raise SystemRefusal(f"field name {key!r} is not text")
        _check_value(value, where)


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SystemRefusal(f"field {where}: {value!r} is not a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        _check_values(value, where)
        return
    raise SystemRefusal(f"field {where}: a {type(value).__name__} is not JSON-like data")
