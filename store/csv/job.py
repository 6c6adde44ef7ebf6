"""The state of one running import: its rows in hand, its counts, and how a batch is written.

``importer.import_csv`` reads the file and hands rows to ``_Import.add``; this module turns
each batch into store batch calls (``atomic=False``), maps every per-input result back to
its row, and writes the rows that failed to the error report.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from store.csv.columns import (
    RECORD_ID_PROPERTY,
    ColumnPlan,
    error_type,
    guard_formula,
    match_columns,
    unguard_formula,
)
from store.db.types import utcnow
from store.errors import CsvFileError, RecordWriteError, ValidationError
from store.models import BatchResult, ChangeSource, PropertyDef, Record, SourceType
from store.values import canonical_value, unique_key

if TYPE_CHECKING:
    from store.csv.request import ImportRequest
    from store.facade import Store

__all__ = ["DEFAULT_ID_PROPERTIES", "REPORT_COLUMNS", "ImportJob"]

REPORT_COLUMNS = ("row", "line", "object", "column", "errorType", "reason", "value")
DEFAULT_ID_PROPERTIES = {"contacts": "email", "companies": "domain"}
_SHOWN_VALUE = 200
_RECORD_EVERY = 10  # batches between updates of the imports row


@dataclass
class _Pending:
    number: int
    line: int
    values: dict[str, dict[str, str]]  # object -> property -> cell
    record_id: str | None = None


@dataclass(frozen=True)
class _Timed:
    """A batch's result, with the time just before it was written (to tell changed rows)."""

    result: BatchResult
    started: datetime


@dataclass
class _Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    other: dict[str, dict[str, int]] = field(default_factory=dict)

    def columns(self) -> dict[str, int]:
        """The counts the ``imports`` table has columns for."""
        return {
            "total_rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
        }


class ImportJob:
    """The state of one running import."""

    def __init__(self, store: Store, request: ImportRequest, import_id: int, report: IO[str]):
        self.store = store
        self.request = request
        self.id = import_id
        self.source = ChangeSource(SourceType.IMPORT, f"import-{import_id}")
        self.report = csv.writer(report)
        self.report.writerow(REPORT_COLUMNS)
        self.counts = _Counts()
        self.plan = ColumnPlan(())
        self.props: dict[str, dict[str, PropertyDef]] = {}
        self.id_props: dict[str, str | None] = {}
        self.batch: list[_Pending] = []
        self.flushes = 0
        self.primary = request.object
        self.other: str | None = None
        self.batch_keys: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ set-up

    def prepare(self, headers: list[str]) -> None:
        req = self.request
        primary = self.store.get_object(req.object).name
        objects = [primary]
        for target in req.mapping.values():
            if isinstance(target, str) and "." in target:
                objects.append(self.store.get_object(target.rpartition(".")[0]).name)
        if req.associate is not None:
            objects.append(self.store.get_object(req.associate.to_object).name)
        objects = list(dict.fromkeys(objects))
        if len(objects) > 2:
            raise CsvFileError(f"an import writes at most two objects, not {', '.join(objects)}")
        self.props = {o: self.store.get_object(o).properties for o in objects}
        mapping = {k: _qualify(v, self.store) for k, v in req.mapping.items()}
        self.plan = match_columns(headers, primary, self.props, mapping)
        problems = list(self.plan.problems)
        if req.strict and self.plan.unmatched:
            names = ", ".join(repr(c.name) for c in self.plan.unmatched)
            problems.append(f"columns match no property (--strict): {names}")
        for obj in objects:
            self.id_props[obj] = self._id_property(obj, obj == primary, problems)
        if req.associate is not None and len(objects) == 2:
            labels = {x.label for x in self.store.list_labels(primary, objects[1])}
            if req.associate.label not in labels:
                problems.append(
                    f"ASSOCIATION_LABEL_NOT_FOUND: no label {req.associate.label!r} from "
                    f"{primary} to {objects[1]}"
                )
        if problems:
            raise CsvFileError("\n".join(problems), problems=problems)
        self.primary = primary
        self.other = objects[1] if len(objects) == 2 else None

    def _id_property(self, obj: str, primary: bool, problems: list[str]) -> str | None:
        mode = self.request.mode if primary else "upsert"
        wanted = (self.request.id_property if primary else None) or DEFAULT_ID_PROPERTIES.get(obj)
        if wanted is not None and wanted not in self.props[obj]:
            problems.append(f"--id-property: {obj} has no property {wanted!r}")
            return None
        if wanted is not None and not self.props[obj][wanted].unique:
            problems.append(f"--id-property: {obj}.{wanted} is not unique")
            return None
        has_column = wanted is not None and self.plan.column_of(obj, wanted) is not None
        has_record_id = self.plan.column_of(obj, RECORD_ID_PROPERTY) is not None and primary
        if mode == "create":
            return None
        if not has_column and not has_record_id:
            how = f"a {wanted} column or " if wanted else ""
            problems.append(
                f"{mode} of {obj} needs {how}a Record ID column to find existing records"
            )
            return None
        return wanted if has_column else None

    # ------------------------------------------------------------ rows

    def add(self, number: int, line: int, cells: list[str]) -> None:
        values: dict[str, dict[str, str]] = {}
        record_id: str | None = None
        for col in self.plan.used:
            cell = cells[col.index]
            if cell == "":
                continue  # an empty cell gives no value; it never clears one
            cell = unguard_formula(cell)
            if col.is_record_id:
                if self.request.mode != "create" and col.object == self.primary:
                    record_id = cell.strip()
                continue
            assert col.object is not None and col.prop is not None
            values.setdefault(col.object, {})[col.prop] = cell
        keys = self._keys(values, record_id)
        if keys & self.batch_keys:
            self.flush()
        self.batch_keys |= keys
        self.batch.append(_Pending(number, line, values, record_id))
        if len(self.batch) >= self.request.batch_size:
            self.flush()

    def _keys(
        self, values: dict[str, dict[str, str]], record_id: str | None
    ) -> set[tuple[str, str]]:
        keys = {("#", record_id)} if record_id else set()
        prop_name = self.id_props.get(self.primary)
        raw = values.get(self.primary, {}).get(prop_name or "")
        if prop_name and raw:
            keys.add((self.primary, self._key(self.primary, prop_name, raw) or raw))
        return keys

    def _key(self, obj: str, prop_name: str, raw: str) -> str | None:
        prop = self.props[obj][prop_name]
        try:
            value = canonical_value(obj, prop, raw)
        except RecordWriteError:
            return None
        return unique_key(prop, value) if value is not None else None

    def fail(
        self, number: int, line: int, obj: str, column: str, kind: str, reason: str, value: str = ""
    ) -> None:
        shown = value if len(value) <= _SHOWN_VALUE else value[: _SHOWN_VALUE - 3] + "..."
        self.report.writerow(
            [
                number,
                line,
                obj,
                guard_formula(column),
                kind,
                guard_formula(reason),
                guard_formula(shown),
            ]
        )
        self.counts.failed += 1

    def fail_error(self, row: _Pending, obj: str, exc: Exception) -> None:
        prop_name = getattr(exc, "property_name", None)
        prop = self.props[obj].get(prop_name or "")
        col = self.plan.column_of(obj, prop_name) if prop_name else None
        value = row.values.get(obj, {}).get(prop_name or "", "")
        self.fail(
            row.number,
            row.line,
            obj,
            col.name if col else "",
            error_type(exc, prop),
            str(exc),
            value,
        )

    # ------------------------------------------------------------ writing a batch

    def flush(self) -> None:
        batch, self.batch, self.batch_keys = self.batch, [], set()
        if not batch:
            return
        failed: set[int] = set()
        other_ids: dict[int, int] = {}
        if self.other is not None:
            other_ids = self._write_other(batch, failed)
        primary_ids = self._write_primary(batch, failed)
        if self.other is not None and self.request.associate is not None:
            pairs = [(i, primary_ids[i], other_ids[i]) for i in primary_ids if i in other_ids]
            errors = self.store.associate_pairs(
                self.primary, self.other, [(a, b) for _, a, b in pairs],
                self.request.associate.label, self.source,
            )  # fmt: skip
            for n, exc in errors.items():
                row = batch[pairs[n][0]]
                self.fail(row.number, row.line, self.primary, "", "ASSOCIATION_FAILED", str(exc))
        self.counts.rows += len(batch)
        self.flushes += 1
        if self.flushes % _RECORD_EVERY == 0:  # so `imports show` follows a long import
            self.store.update_import(self.id, counts=self.counts.columns())

    def _write_other(self, batch: list[_Pending], failed: set[int]) -> dict[int, int]:
        obj = self.other
        assert obj is not None
        prop_name = self.id_props[obj]
        assert prop_name is not None
        groups: dict[str, list[int]] = {}
        for i, row in enumerate(batch):
            values = row.values.get(obj)
            if not values:
                continue
            if not values.get(prop_name):
                exc = ValidationError(
                    obj, prop_name, None, f"required: {obj} are found by {prop_name}"
                )
                self.fail_error(row, obj, exc)
                failed.add(i)
                continue
            key = self._key(obj, prop_name, values[prop_name]) or values[prop_name]
            groups.setdefault(key, []).append(i)
        # Rows naming the same record (many contacts of one company) share one input, their
        # values merged in file order, so the batch needs no cut.
        todo = list(groups.values())
        merged: list[dict[str, str]] = []
        for members in todo:
            values = {}
            for i in members:
                values.update(batch[i].values[obj])
            merged.append(values)
        inputs = [(values[prop_name], values) for values in merged]
        started = utcnow()
        result = _Timed(
            self.store.upsert_records(obj, prop_name, inputs, self.source, atomic=False), started
        )
        counts = self.counts.other.setdefault(obj, {"created": 0, "updated": 0, "unchanged": 0})
        ids: dict[int, int] = {}
        for n, outcome in self._outcomes(list(range(len(todo))), result):
            if isinstance(outcome, Record):
                ids.update((i, outcome.id) for i in todo[n])
                counts[self._kind(outcome, result)] += 1
            else:
                for i in todo[n]:
                    self.fail_error(batch[i], obj, outcome)
                    failed.add(i)
        return ids

    def _write_primary(self, batch: list[_Pending], failed: set[int]) -> dict[int, int]:
        obj, mode = self.primary, self.request.mode
        prop_name = self.id_props[obj]
        by_id: list[tuple[int, int]] = []
        by_key: list[int] = []
        create: list[int] = []
        for i, row in enumerate(batch):
            if i in failed:
                continue
            if row.record_id is not None:
                try:
                    by_id.append((i, int(row.record_id)))
                except ValueError:
                    self._fail_id(
                        i,
                        row,
                        failed,
                        "INVALID_OBJECT_ID",
                        f"Record ID {row.record_id!r} is not a number",
                    )
            elif prop_name and row.values.get(obj, {}).get(prop_name):
                by_key.append(i)
            elif mode == "update":
                self._fail_id(
                    i,
                    row,
                    failed,
                    "UPDATE_ONLY_IMPORT",
                    "no Record ID or id property value to find the record by",
                )
            else:
                create.append(i)
        ids: dict[int, int] = {}
        if mode == "update" and by_key and prop_name:
            found = self.store.unique_holders(
                obj,
                prop_name,
                [self._key(obj, prop_name, batch[i].values[obj][prop_name]) or "" for i in by_key],
            )
            for i in by_key:
                rid = found.get(self._key(obj, prop_name, batch[i].values[obj][prop_name]) or "")
                if rid is None:
                    self._fail_id(
                        i,
                        batch[i],
                        failed,
                        "UPDATE_ONLY_IMPORT",
                        f"no {obj} record with this {prop_name}; update imports create nothing",
                    )
                else:
                    by_id.append((i, rid))
            by_key = []
        if by_id:
            started = utcnow()
            result = _Timed(
                self.store.update_records(
                    obj,
                    [(rid, batch[i].values.get(obj, {})) for i, rid in by_id],
                    self.source,
                    atomic=False,
                ),
                started,
            )
            self._tally([i for i, _ in by_id], result, batch, failed, ids)
        if by_key and prop_name:
            inputs = [(batch[i].values[obj][prop_name], batch[i].values[obj]) for i in by_key]
            started = utcnow()
            result = _Timed(
                self.store.upsert_records(obj, prop_name, inputs, self.source, atomic=False),
                started,
            )
            self._tally(by_key, result, batch, failed, ids)
        if create:
            started = utcnow()
            result = _Timed(
                self.store.create_records(
                    obj, [batch[i].values.get(obj, {}) for i in create], self.source, atomic=False
                ),
                started,
            )
            self._tally(create, result, batch, failed, ids)
        return ids

    def _fail_id(self, i: int, row: _Pending, failed: set[int], kind: str, reason: str) -> None:
        col = self.plan.column_of(self.primary, RECORD_ID_PROPERTY)
        self.fail(
            row.number,
            row.line,
            self.primary,
            col.name if col else "",
            kind,
            reason,
            row.record_id or "",
        )
        failed.add(i)

    def _tally(
        self,
        indexes: list[int],
        result: _Timed,
        batch: list[_Pending],
        failed: set[int],
        ids: dict[int, int],
    ) -> None:
        for i, outcome in self._outcomes(indexes, result):
            if isinstance(outcome, Record):
                ids[i] = outcome.id
                kind = self._kind(outcome, result)
                setattr(self.counts, kind, getattr(self.counts, kind) + 1)
            else:
                self.fail_error(batch[i], self.primary, outcome)
                failed.add(i)

    @staticmethod
    def _outcomes(indexes: list[int], result: _Timed) -> Iterator[tuple[int, Record | Exception]]:
        errors = {f.index: f.error for f in result.result.failures}
        records = iter(result.result.records)
        for n, i in enumerate(indexes):
            yield i, errors[n] if n in errors else next(records)

    @staticmethod
    def _kind(record: Record, result: _Timed) -> str:
        if record.id in result.result.created:
            return "created"
        return "updated" if record.updated_at >= result.started else "unchanged"

    def summary_details(self, status: str, message: str | None = None) -> dict[str, Any]:
        return {
            "import": self.id,
            "status": status,
            "unchanged": self.counts.unchanged,
            "other_objects": self.counts.other,
            "skipped_columns": {c.name: c.skipped for c in self.plan.columns if c.skipped},
            "message": message,
        }


def _qualify(target: object, store: Store) -> str:
    """``Companies.domain`` -> ``companies.domain``: object names as the store spells them."""
    if not isinstance(target, str) or "." not in target:
        return target if isinstance(target, str) else ""
    obj, _, prop = target.strip().rpartition(".")
    return f"{store.get_object(obj).name}.{prop}"
