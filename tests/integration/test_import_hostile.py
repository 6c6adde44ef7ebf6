"""Hostile CSV files on both databases: encodings, ragged and huge rows, garbage, odd headers."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest

from store import MAX_CELL_CHARS, CsvFileError, Store
from syncd.errors import SyncdError
from tests.integration._import_helpers import by_email, report_rows, run, write_csv


def test_utf8_bom_is_dropped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffEmail,Prénom\r\na@x.com,Zoë\r\n".encode())
    summary = run(store, path, mapping={"Prénom": "firstname"})
    assert summary.created == 1
    assert by_email(store, "a@x.com")["firstname"] == "Zoë"


def test_latin1_with_encoding_option(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l1.csv",
        [["Email", "First Name"], ["a@x.com", "Zoë Ångström"]],
        encoding="latin-1",
    )
    assert run(store, path, encoding="latin-1").created == 1
    assert by_email(store, "a@x.com")["firstname"] == "Zoë Ångström"


def test_undecodable_bytes_fail_the_import_naming_the_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"email,firstname\na@x.com,Ann\nb@x.com,Zo\xeb\nc@x.com,Cy\n")
    with pytest.raises(CsvFileError, match=r"line 3: byte 0xeb .* cannot be decoded as utf-8"):
        run(store, path)
    (failed,) = store.list_imports()
    assert failed.status == "FAILED" and "line 3" in failed.details["message"]
    assert failed.created == 1  # the row before the bad line was written
    assert report_rows(failed)[-1]["line"] == "3"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "line 1: byte 0x89"),
        ("email,firstname\n".encode("utf-16"), "UTF-16 or UTF-32"),
        (b"Email,email\na@x.com,b@x.com\n", "duplicate column name 'email'"),
        (b",,\n1,2,3\n", "the header row has no column names"),
    ],
    ids=["empty", "blank-lines", "binary-garbage", "utf-16", "duplicate-headers", "blank-header"],
)
def test_unusable_files_are_refused_clearly(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(CsvFileError, match=message):
        run(store, path)
    assert store.list_records("contacts") == []


def test_header_only_file_imports_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("email,firstname\n")
    summary = run(store, path)
    assert (summary.status, summary.rows, summary.created, summary.failed) == ("DONE", 0, 0, 0)


def test_embedded_newlines_quotes_and_ragged_rows(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "email,firstname,lastname\n"
        'a@x.com,"Ann\nMarie","O""Neil, Jr."\n'
        "short@x.com,Only\n"
        "\n"
        'b@x.com,"He said ""hi""",Lee\n'
        "long@x.com,a,b,c\n",
        encoding="utf-8",
    )
    summary = run(store, path)
    assert (summary.rows, summary.created, summary.failed) == (4, 2, 2)
    a = by_email(store, "a@x.com")
    assert (a["firstname"], a["lastname"]) == ("Ann\nMarie", 'O"Neil, Jr.')
    assert by_email(store, "b@x.com")["firstname"] == 'He said "hi"'
    report = [(r["row"], r["line"], r["errorType"]) for r in report_rows(summary)]
    assert report == [
        ("2", "4", "INCORRECT_NUMBER_OF_COLUMNS"),
        ("4", "7", "INCORRECT_NUMBER_OF_COLUMNS"),
    ]


def test_formula_cells_are_stored_and_a_guarded_cell_loses_its_guard(
    store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        [
            ["email", "firstname", "lastname"],
            ["a@x.com", '=HYPERLINK("http://evil")', "'=1+1"],
            ["b@x.com", "'hello", "''@x"],
        ],
    )
    assert run(store, path).created == 2
    a, b = by_email(store, "a@x.com"), by_email(store, "b@x.com")
    assert (a["firstname"], a["lastname"]) == ('=HYPERLINK("http://evil")', "=1+1")
    assert (b["firstname"], b["lastname"]) == ("'hello", "'@x")


def test_a_nul_character_fails_only_its_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_bytes(b"email,firstname\na@x.com,A\x00B\nb@x.com,B\n")
    summary = run(store, path)
    assert (summary.created, summary.failed) == (1, 1)
    assert "NUL" in report_rows(summary)[0]["reason"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_100_mb_cell_is_refused_without_reading_it_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    chunk = "x" * (1024 * 1024)
    with path.open("w", encoding="ascii") as handle:
        handle.write("email,firstname\na@x.com,A\nb@x.com,")
        for _ in range(100):
            handle.write(chunk)
        handle.write("\nc@x.com,C\n")
    before = _peak_rss_mb()
    summary = run(store, path)
    assert _peak_rss_mb() - before < 60
    assert (summary.rows, summary.created, summary.failed) == (3, 2, 1)
    (row,) = report_rows(summary)
    assert (row["row"], row["line"], row["errorType"]) == ("2", "3", "INVALID_ROW")
    assert "longer than" in row["reason"]
    assert by_email(store, "c@x.com")["firstname"] == "C"


def test_a_huge_quoted_cell_over_many_lines_is_refused_and_reading_resumes(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "multi.csv"
    with path.open("w", encoding="ascii") as handle:
        handle.write('email,firstname\na@x.com,A\nb@x.com,"')
        line = "y" * 1023 + "\n"
        for _ in range(2 * MAX_CELL_CHARS // len(line)):
            handle.write(line)
        handle.write('""end"\nc@x.com,C\n')
    summary = run(store, path)
    assert (summary.created, summary.failed) == (2, 1)
    (row,) = report_rows(summary)
    assert (row["row"], row["errorType"]) == ("2", "INVALID_ROW")
    assert by_email(store, "c@x.com")["firstname"] == "C"


def test_an_unclosed_quote_at_the_end_fails_its_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text('email,firstname\na@x.com,A\nb@x.com,"never closed\n')
    summary = run(store, path)
    assert (summary.created, summary.failed) == (1, 1)


def test_an_unwritable_error_report_refuses_the_import(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [["email"], ["a@x.com"]])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CsvFileError, match="cannot write the error report"):
        run(store, path, error_report=blocker / "report.csv")
    assert [i.status for i in store.list_imports()] == ["FAILED"]
    assert store.list_records("contacts") == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
        ({"encoding": "utf-16"}, "utf-16 is not supported"),
        ({"object_name": "unicorns"}, "no object 'unicorns'"),
        ({"mode": "merge"}, "mode 'merge' unknown"),
    ],
    ids=["unknown-encoding", "utf16-encoding", "unknown-object", "unknown-mode"],
)
def test_bad_options_are_refused_before_anything_is_written(
    store: Store, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = write_csv(tmp_path / "c.csv", [["email"], ["a@x.com"]])
    with pytest.raises(SyncdError, match=message):
        run(store, path, **options)
    assert store.list_imports() == []
