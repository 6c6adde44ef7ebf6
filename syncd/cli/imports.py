"""``syncd import``, ``syncd imports list|show`` and ``syncd export``: records in and out as files.

A mapping file is YAML, either flat (``Column name: property`` or ``Column name: ignore``)
or, for a file with two objects on each row::

    columns: {Email: contacts.email, "Company domain": companies.domain}
    associate: {from: contacts, to: companies, label: Primary}

A progress bar is shown on stderr when it is a terminal (and not with --json).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from store import (
    MODES,
    AssociateSpec,
    FilterGroup,
    ImportRequest,
    ImportSummary,
    Store,
    export_properties,
    import_csv,
    iter_records,
    parse_filter_expression,
    write_csv,
    write_json,
)
from syncd.cli._context import get_state
from syncd.cli._output import emit_json, info, print_table, warn
from syncd.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from config.loader import YamlDocument

__all__ = ["export", "import_", "imports_app", "load_mapping"]

imports_app = typer.Typer(help="Past imports: list, show.", no_args_is_help=True)


def load_mapping(path: Path) -> tuple[dict[str, str], AssociateSpec | None]:
    """The column mapping and association of a mapping file; every problem with its line."""
    from config.loader import read_yaml  # the config package is slow to import (``syncd.cli``)

    doc = read_yaml(path)
    data = doc.data
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise doc.error((), "a mapping file is a mapping of column names to properties")
    # "columns" and "associate" are reserved: a file with either is the structured form.
    structured = "columns" in data or "associate" in data
    columns = data.get("columns", {}) if structured else data
    problems: list[ConfigError] = []
    if not isinstance(columns, dict):
        raise doc.error(("columns",), "must be a mapping of column names to properties")
    mapping: dict[str, str] = {}
    prefix: tuple[str, ...] = ("columns",) if structured else ()
    for key, value in columns.items():
        if not isinstance(key, str) or not isinstance(value, str) or not value.strip():
            problems.append(doc.error((*prefix, str(key)), "must be a property name or 'ignore'"))
            continue
        mapping[key] = value
    associate = _associate(doc, data.get("associate"), problems) if structured else None
    if structured:
        for extra in sorted(set(data) - {"columns", "associate"}):
            problems.append(doc.error((str(extra),), "unknown key; expected columns, associate"))
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise ConfigError("\n".join(str(p) for p in problems), problems=len(problems))
    return mapping, associate


def _associate(doc: YamlDocument, raw: object, problems: list[ConfigError]) -> AssociateSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(doc.error(("associate",), "must be a mapping with from, to, label"))
        return None
    for key in ("from", "to"):
        if not isinstance(raw.get(key), str):
            problems.append(doc.error(("associate", key), "must be an object name"))
    label = raw.get("label")
    if label is not None and not isinstance(label, str):
        problems.append(doc.error(("associate", "label"), "must be a label name"))
    unknown = sorted(set(raw) - {"from", "to", "label"})
    if unknown:
        problems.append(doc.error(("associate", str(unknown[0])), "unknown key"))
    if problems:
        return None
    return AssociateSpec(str(raw["from"]), str(raw["to"]), label)


@contextmanager
def _progress(enabled: bool, total: int, what: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op callback."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _rows, _done: None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(what, total=total or None, rows=0)
        yield lambda rows, done: bar.update(task, completed=done, rows=rows)


def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, help="CSV file.")
    ],
    object_name: Annotated[
        str, typer.Option("--object", metavar="OBJECT", help="Object the rows are, e.g. contacts.")
    ],
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", metavar="PATH", exists=True, dir_okay=False, help="YAML map."),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help=f"One of {', '.join(MODES)}.")] = "upsert",
    id_property: Annotated[
        str | None,
        typer.Option("--id-property", metavar="P", help="Unique property to find records by."),
    ] = None,
    encoding: Annotated[str, typer.Option("--encoding", metavar="E")] = "utf-8",
    error_report: Annotated[
        Path | None,
        typer.Option(
            "--error-report", metavar="PATH", dir_okay=False, help="Where failed rows go."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse a file with columns that match nothing.")
    ] = False,
) -> None:
    """Import records from a CSV file; failing rows go to an error report, the rest are written."""
    state = get_state(ctx)
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r} unknown; modes: {', '.join(MODES)}")
    mapping, associate = load_mapping(mapping_file) if mapping_file else ({}, None)
    request = ImportRequest(
        path=file,
        object=object_name,
        mode=mode,
        id_property=id_property,
        encoding=encoding,
        error_report=error_report,
        mapping=mapping,
        associate=associate,
        strict=strict,
    )
    with (
        state.open_store() as store,
        _progress(not state.json, file.stat().st_size, f"importing {file.name}") as progress,
    ):
        summary = import_csv(store, request, progress=progress)
    if state.json:
        emit_json(_summary_json(summary))
        return
    skipped = summary.details.get("skipped_columns") or {}
    unmatched = [name for name, why in skipped.items() if why == "unmatched"]
    if unmatched:
        warn(f"columns skipped, no property matches: {', '.join(unmatched)}")
    read_only = [name for name, why in skipped.items() if why == "read-only"]
    if read_only:
        info(f"read-only columns skipped: {', '.join(read_only)}")
    info(
        f"import {summary.id}: {summary.rows} rows, {summary.created} created, "
        f"{summary.updated} updated, {summary.unchanged} unchanged, {summary.failed} failed"
    )
    if summary.failed:
        warn(f"{summary.failed} row(s) failed; see {summary.error_report}")


def _summary_json(s: ImportSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "fileName": s.file_name,
        "object": s.object,
        "mode": s.mode,
        "status": s.status,
        "rows": s.rows,
        "created": s.created,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "failed": s.failed,
        "errorReport": s.error_report,
        "startedAt": s.started_at,
        "finishedAt": s.finished_at,
        "details": s.details,
    }


@imports_app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """Past imports, newest first."""
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.list_imports(limit=limit)
    if state.json:
        emit_json([_summary_json(s) for s in found])
        return
    print_table(
        ["id", "file", "object", "mode", "status", "rows", "created", "updated", "failed"],
        (
            (s.id, s.file_name, s.object, s.mode, s.status, s.rows, s.created, s.updated, s.failed)
            for s in found
        ),
        title="imports",
    )


@imports_app.command("show")
def show(
    ctx: typer.Context,
    import_id: Annotated[int, typer.Argument(metavar="ID")],
) -> None:
    """One import: its counts, status and error report."""
    state = get_state(ctx)
    with state.open_store() as store:
        s = store.get_import(import_id)
    if state.json:
        emit_json(_summary_json(s))
        return
    rows: list[tuple[str, object]] = [
        ("file", s.file_name),
        ("object", s.object),
        ("mode", s.mode),
        ("status", s.status),
        ("rows", s.rows),
        ("created", s.created),
        ("updated", s.updated),
        ("unchanged", s.unchanged),
        ("failed", s.failed),
        ("error report", s.error_report),
        ("started", s.started_at),
        ("finished", s.finished_at),
    ]
    for obj, counts in (s.details.get("other_objects") or {}).items():
        rows.append((obj, ", ".join(f"{v} {k}" for k, v in counts.items())))
    if s.details.get("message"):
        rows.append(("message", s.details["message"]))
    print_table(["field", "value"], rows, title=f"import {s.id}")


def export(
    ctx: typer.Context,
    object_name: Annotated[str, typer.Argument(metavar="OBJECT")],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="FILE.csv or FILE.json.")
    ],
    properties: Annotated[
        str | None,
        typer.Option("--properties", metavar="A,B", help="Properties to export (default all)."),
    ] = None,
    filter_text: Annotated[
        str | None,
        typer.Option(
            "--filter", metavar="EXPR", help='PROP OP [VALUE], e.g. "lifecyclestage EQ lead".'
        ),
    ] = None,
) -> None:
    """Export records as CSV (formula cells guarded) or as a JSON array of {id, properties}."""
    state = get_state(ctx)
    kind = output.suffix.lower().lstrip(".")
    if kind not in ("csv", "json"):
        raise UsageError(f"-o {output}: the file name must end in .csv or .json")
    wanted = [p.strip() for p in (properties or "").split(",") if p.strip()]
    with state.open_store() as store:
        columns = export_properties(store, object_name, wanted)
        pages = _filtered_ids(store, object_name, filter_text) if filter_text else None
        writer = write_csv if kind == "csv" else write_json
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = writer(handle, columns, iter_records(store, object_name, pages))
            partial.replace(output)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        finally:
            partial.unlink(missing_ok=True)
    if state.json:
        emit_json({"object": object_name, "records": count, "file": str(output)})
    else:
        info(f"wrote {count} {object_name} record(s) to {output}")


def _filtered_ids(store: Store, object_name: str, text: str) -> Iterator[list[int]]:
    group = FilterGroup(filters=(parse_filter_expression(text),))
    return store.iter_matching_ids(object_name, (group,), batch=1000)
