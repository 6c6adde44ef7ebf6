"""Writing CSV files for import tests and reading back what an import reported."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from store import ImportRequest, ImportSummary, Store, import_csv


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run(store: Store, path: Path, object_name: str = "contacts", **options: Any) -> ImportSummary:
    return import_csv(store, ImportRequest(path=path, object=object_name, **options))


def report_rows(summary: ImportSummary) -> list[dict[str, str]]:
    assert summary.error_report is not None
    with open(summary.error_report, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_email(store: Store, email: str) -> dict[str, str]:
    return store.find_record("contacts", "email", email).properties
