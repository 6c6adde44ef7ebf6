"""The store facade's part for CSV imports: the ``imports`` rows and the look-ups an import needs.

``store.csv.importer.import_csv`` runs one import as a client of the facade: it opens the row
with ``start_import``, writes through the batch methods, and keeps the row current with
``update_import``; ``list_imports``/``get_import`` read back what an import did. The ``imports``
table holds the counts HubSpot reports (rows, created, updated, failed, status, error report);
what it has no column for (unchanged rows, skipped columns, the other object's counts, why
an import failed) is kept in a JSON file beside the error report (``<report>.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from store.associations import sql as association_sql
from store.db import tables as t
from store.db.catalog import load_object
from store.db.part import FacadePart
from store.errors import NotFoundError, RecordWriteError, StoreError
from store.models import ChangeSource
from store.records import sql as record_sql

if TYPE_CHECKING:
    from store.db.tx import Tx

__all__ = ["ImportSummary", "ImportsPart", "Progress", "details_path"]

Progress = Callable[[int, int], None]
_COUNT_COLUMNS = frozenset({"total_rows", "created", "updated", "failed"})


@dataclass(frozen=True)
class ImportSummary:
    """What one import did (or is doing): its ``imports`` row and its side file."""

    id: int
    file_name: str
    object: str
    mode: str
    status: str
    rows: int
    created: int
    updated: int
    failed: int
    error_report: str | None
    started_at: datetime
    finished_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        return int(self.details.get("unchanged", 0))


def details_path(error_report: str | Path) -> Path:
    """Where an import's extra facts live: beside its error report."""
    return Path(error_report).with_suffix(".json")


class ImportsPart(FacadePart):
    """The ``imports`` rows: open one, keep it current, list them, show one."""

    def list_imports(self, *, limit: int = 50) -> list[ImportSummary]:
        """The newest imports first."""
        return self._read(
            lambda conn: [
                _summary(row)
                for row in conn.execute(
                    _query().order_by(t.imports.c.id.desc()).limit(max(1, limit))
                ).mappings()
            ]
        )

    def get_import(self, import_id: int) -> ImportSummary:
        def work(conn: Any) -> ImportSummary:
            row = conn.execute(_query().where(t.imports.c.id == import_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"no import {import_id}", import_id=import_id)
            return _summary(row)

        return self._read(work)

    def start_import(self, file_name: str, object_name: str, mode: str) -> int:
        """Open an ``imports`` row (status ``STARTED``) for a file about to be read; its id."""

        def work(tx: Tx) -> int:
            obj = tx.object(object_name)
            return int(
                tx.connection.execute(
                    insert(t.imports)
                    .values(
                        file_name=file_name[:500],
                        object_type_id=obj.id,
                        mode=mode,
                        status="STARTED",
                        total_rows=0,
                        created=0,
                        updated=0,
                        failed=0,
                        started_at=tx.now,
                    )
                    .returning(t.imports.c.id)
                ).scalar_one()
            )

        return self._write(ChangeSource.cli(), work)

    def update_import(
        self,
        import_id: int,
        *,
        status: str | None = None,
        error_report: str | None = None,
        counts: Mapping[str, int] | None = None,
        finished: bool = False,
    ) -> None:
        """Set what an import's row shows so far (and ``finished_at`` when it ends).

        ``counts`` are the columns ``total_rows``, ``created``, ``updated``, ``failed``.
        """
        values: dict[str, Any] = dict(counts or {})
        unknown = sorted(set(values) - _COUNT_COLUMNS)
        if unknown:
            raise StoreError(
                f"import counts {', '.join(unknown)} unknown; known: {', '.join(sorted(_COUNT_COLUMNS))}"
            )
        if status is not None:
            values["status"] = status
        if error_report is not None:
            values["error_report"] = error_report

        def work(tx: Tx) -> None:
            extra = {"finished_at": tx.now} if finished else {}
            tx.connection.execute(
                update(t.imports).where(t.imports.c.id == import_id).values(**values, **extra)
            )

        self._write(ChangeSource.cli(), work)

    def unique_holders(
        self, object_name: str, property_name: str, keys: Sequence[str]
    ) -> dict[str, int]:
        """Unique key (``unique_key`` of a value) -> live record id, for the keys a record holds."""

        def work(conn: Any) -> dict[str, int]:
            obj = load_object(conn, object_name)
            return record_sql._holders(conn, obj, property_name, list(keys))

        return self._read(work)

    def associate_pairs(
        self,
        from_object: str,
        to_object: str,
        pairs: Sequence[tuple[int, int]],
        label: str | None,
        source: ChangeSource,
    ) -> dict[int, RecordWriteError]:
        """Associate each pair; one transaction, or one per pair when some fail (index -> error)."""

        def run(chosen: Sequence[tuple[int, tuple[int, int]]]) -> None:
            def work(tx: Tx) -> None:
                a, b = tx.object(from_object), tx.object(to_object)
                for _, (a_id, b_id) in chosen:
                    association_sql.associate(tx, a, a_id, b, b_id, label)

            self._write(source, work)

        indexed = list(enumerate(pairs))
        if not indexed:
            return {}
        try:
            run(indexed)
            return {}
        except RecordWriteError:
            pass
        errors: dict[int, RecordWriteError] = {}
        for item in indexed:
            try:
                run([item])
            except RecordWriteError as exc:
                errors[item[0]] = exc
        return errors


def _query() -> Any:
    i, o = t.imports, t.object_types
    return select(i, o.c.name.label("object_name")).join(o, o.c.id == i.c.object_type_id)


def _summary(row: Any) -> ImportSummary:
    details: dict[str, Any] = {}
    report = row["error_report"]
    if report:
        path = details_path(report)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                details = loaded
        except (OSError, ValueError):
            details = {}
    return ImportSummary(
        id=row["id"],
        file_name=row["file_name"],
        object=row["object_name"],
        mode=row["mode"],
        status=row["status"],
        rows=row["total_rows"],
        created=row["created"],
        updated=row["updated"],
        failed=row["failed"],
        error_report=report,
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        details=details,
    )
