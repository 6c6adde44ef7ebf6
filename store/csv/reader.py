"""Reading a CSV file people (or attackers) made: streamed, bounded, every row numbered.

``read_rows`` yields one ``Row`` per record: its 1-based data row number, the physical line
it starts on (the header is line 1), and either its cells or why it cannot be read. Memory
stays bounded whatever the file holds: bytes are read one physical line at a time, at most
``MAX_LINE_BYTES`` of it; a longer line is drained in chunks and its row refused, and a cell
over ``MAX_CELL_CHARS`` is refused by the csv module's field limit. After such a cell the
reader finds the end of its record again by counting quote characters.

Bytes are decoded line by line, so an undecodable byte is reported with its line number.
UTF-8 is the default and a byte-order mark is dropped; only ASCII-compatible encodings are
accepted (a UTF-16 or UTF-32 file is refused with a hint to convert it).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from store.errors import CsvFileError

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_LINE_BYTES",
    "LineSource",
    "Row",
    "read_header",
    "read_rows",
]

# A value longer than 65,536 characters is invalid anyway; this only bounds what is held.
MAX_CELL_CHARS = 1024 * 1024
MAX_LINE_BYTES = 4 * 1024 * 1024
_DRAIN_CHUNK = 1024 * 1024
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


class _OversizedLine(Exception):
    """A physical line longer than MAX_LINE_BYTES; it has been skipped."""


@dataclass(frozen=True)
class Row:
    """One data row: ``number`` counts data rows from 1; ``line`` is where it starts."""

    number: int
    line: int
    cells: list[str] | None
    error: str | None = None


class LineSource:
    """Physical lines of a binary file, decoded, bounded, and counted for ``csv.reader``."""

    def __init__(self, handle: BinaryIO, encoding: str) -> None:
        try:
            info = codecs.lookup(encoding)
        except LookupError:
            raise CsvFileError(f"unknown encoding {encoding!r}") from None
        if info.name.startswith(("utf-16", "utf-32")):
            raise CsvFileError(
                f"{encoding} is not supported; convert the file to UTF-8 (or latin-1)"
            )
        self._handle = handle
        self._encoding = "utf-8-sig" if info.name == "utf-8" else info.name
        self.encoding = encoding
        self.line = 0  # physical lines handed out so far
        self.quotes = 0  # quote characters handed out since the last mark
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._handle.readline(MAX_LINE_BYTES)
        if not raw:
            raise StopIteration
        self.bytes_read += len(raw)
        self.line += 1
        if self.line == 1 and raw.startswith(_UTF16_32_BOMS):
            raise CsvFileError("the file is UTF-16 or UTF-32; convert it to UTF-8")
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            self._drain()
            raise _OversizedLine
        try:
            text = raw.decode(self._encoding if self.line == 1 else self._tail_encoding)
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                f"line {self.line}: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} "
                f"cannot be decoded as {self.encoding}; is it another encoding? "
                "(try --encoding latin-1)",
                line=self.line,
            ) from None
        self.quotes += text.count('"')
        return text

    @property
    def _tail_encoding(self) -> str:
        return "utf-8" if self._encoding == "utf-8-sig" else self._encoding

    def _drain(self) -> None:
        """Skip the rest of an over-long physical line without holding it."""
        while True:
            chunk = self._handle.readline(_DRAIN_CHUNK)
            self.bytes_read += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return

    def mark(self) -> None:
        self.quotes = 0

    def skip_to_record_end(self) -> None:
        """After a refused cell inside quotes: skip lines until those quotes close."""
        while self.quotes % 2 == 1:
            try:
                next(self)
            except _OversizedLine:
                continue
            except StopIteration:
                return


def read_header(lines: LineSource, reader: Iterator[list[str]]) -> list[str]:
    """The header row, stripped; an empty file or unreadable header is a ``CsvFileError``."""
    try:
        while True:
            header = next(reader)
            if header:
                break
    except StopIteration:
        raise CsvFileError("the file is empty: it has no header row") from None
    except _OversizedLine:
        raise CsvFileError(f"line {lines.line}: the header row is too long") from None
    except csv.Error as exc:
        raise CsvFileError(f"line {lines.line}: the header cannot be read: {exc}") from None
    names = [h.strip() for h in header]
    if not any(names):
        raise CsvFileError("the header row has no column names")
    return names


def read_rows(lines: LineSource, reader: Iterator[list[str]]) -> Iterator[Row]:
    """Every data row after the header; blank lines are skipped and not counted."""
    number = 0
    while True:
        lines.mark()
        start = lines.line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _OversizedLine:
            number += 1
            yield Row(number, start, None, f"line longer than {MAX_LINE_BYTES} bytes; row skipped")
            continue
        except csv.Error as exc:
            number += 1
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"a cell is longer than {MAX_CELL_CHARS} characters; row skipped"
                lines.skip_to_record_end()
            yield Row(number, start, None, reason)
            continue
        if not cells or cells == [""]:
            continue
        number += 1
        yield Row(number, start, cells)


def open_reader(lines: LineSource) -> Iterator[list[str]]:
    """A ``csv.reader`` over ``lines`` with the cell-size bound set."""
    csv.field_size_limit(MAX_CELL_CHARS)
    return csv.reader(lines, strict=True)
