"""One CSV import: stream the rows, write them in batches, report every row that fails.

Rows are read by ``reader`` (bounded memory, numbered rows), matched to properties by
``columns``, and written ``batch_size`` rows per store call with ``atomic=False``, so a
bad row costs only itself. A batch is cut early when a row repeats the record of an earlier
row in it, so a file that names one record twice updates it twice, in file order, as it
would if each row were its own import.

With a second object in the mapping (``companies.domain``), each row first finds or creates
that record (upsert by its unique property), then writes the primary record and associates
the two (``associate``, optionally with a label). A row whose second record fails fails
whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING

from store.csv.job import REPORT_COLUMNS, ImportJob
from store.csv.part import ImportSummary, Progress, details_path
from store.csv.reader import LineSource, open_reader, read_header, read_rows
from store.csv.request import MODES, ImportRequest
from store.errors import CsvFileError

if TYPE_CHECKING:
    from store.facade import Store

__all__ = ["REPORT_COLUMNS", "import_csv"]


def _open_report(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CsvFileError(f"cannot write the error report {path}: {exc.strerror or exc}") from None


def default_report(path: Path, import_id: int) -> Path:
    return path.with_name(f"{path.stem}.import-{import_id}.errors.csv")


def import_csv(
    store: Store, request: ImportRequest, *, progress: Progress | None = None
) -> ImportSummary:
    """Import a CSV file into ``store``: rows that fail go to the error report, the rest are
    written. A file-wide problem marks the import FAILED and is raised.

    Only the store's public methods are used, so an import is what any caller could write.
    """
    if request.mode not in MODES:
        raise CsvFileError(f"mode {request.mode!r} unknown; modes: {', '.join(MODES)}")
    if not 1 <= request.batch_size <= 10_000:
        raise CsvFileError("batch size must be between 1 and 10000")
    try:
        handle = request.path.open("rb")
    except OSError as exc:
        raise CsvFileError(f"{request.path}: cannot read it: {exc.strerror or exc}") from None
    try:
        lines = LineSource(handle, request.encoding)  # refuses an unknown encoding first
        import_id = store.start_import(request.path.name, request.object, request.mode)
    except BaseException:
        handle.close()
        raise
    report_path = (request.error_report or default_report(request.path, import_id)).absolute()
    try:
        report = _open_report(report_path)
    except CsvFileError:
        handle.close()
        store.update_import(import_id, status="FAILED", finished=True)
        raise
    store.update_import(import_id, error_report=str(report_path))
    with handle, report:
        job = ImportJob(store, request, import_id, report)
        status, message = "FAILED", None
        try:
            reader = open_reader(lines)
            headers = read_header(lines, reader)
            job.prepare(headers)
            store.update_import(import_id, status="PROCESSING")
            width = len(headers)
            for row in read_rows(lines, reader):
                if row.cells is None:
                    job.fail(row.number, row.line, job.primary, "", "INVALID_ROW", row.error or "")
                    job.counts.rows += 1
                elif len(row.cells) != width:
                    job.fail(
                        row.number, row.line, job.primary, "", "INCORRECT_NUMBER_OF_COLUMNS",
                        f"{len(row.cells)} cells, the header has {width}",
                    )  # fmt: skip
                    job.counts.rows += 1
                else:
                    job.add(row.number, row.line, row.cells)
                if len(job.batch) == 0 and progress is not None:
                    progress(job.counts.rows, lines.bytes_read)
            job.flush()
            if progress is not None:
                progress(job.counts.rows, lines.bytes_read)
            status = "DONE"
        except CsvFileError as exc:
            message = str(exc)
            if job.batch:  # rows read before the bad line are written, as earlier batches were
                job.flush()
            if exc.data.get("line") is not None:
                job.fail(0, int(exc.data["line"]), request.object, "", "INVALID_FILE", message)
            raise
        finally:
            counts = job.counts
            details_path(report_path).write_text(
                json.dumps(job.summary_details(status, message), indent=2), encoding="utf-8"
            )
            store.update_import(import_id, status=status, counts=counts.columns(), finished=True)
    return store.get_import(import_id)
