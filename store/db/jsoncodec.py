"""JSON for every JSON column of the store: orjson, and the json module where orjson differs.

Record properties, history changes, journal rows, link bases and log rows are JSON, and on
an initial sync encoding them was the largest single cost of a write after the database
itself. orjson is several times faster than the json module; what it does differently is
handed back to the json module, so every value stores and reads back as it did before:

- writing: keys that are not text (the json module turns ``1`` into ``"1"``), integers beyond
  64 bits, lone surrogates, datetimes and dataclasses (the json module refuses them: so do we)
  raise in orjson and go to the json module; NaN and infinities, which orjson would write as
  ``null``, are written as the json module writes them (``NaN``; SQLite reads them back,
  PostgreSQL refuses them, as before).
- reading: ``NaN``, ``Infinity``, numbers beyond a double and lone surrogates raise in orjson
  and go to the json module; a document in which orjson read a float and whose text has a
  run of 19 digits or more (an integer orjson reads back as a float once it passes 64 bits)
  is read again by the json module.

orjson writes UTF-8 where the json module wrote ``\\uXXXX`` escapes: both read either, and so
do SQLite's and PostgreSQL's JSON functions.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

__all__ = ["dumps", "dumps_bytes", "dumps_texts", "loads"]

# Types orjson would write but the json module refuses: refused here too, by the json module.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def dumps_bytes(value: Any) -> bytes:
    """``value`` as JSON in UTF-8: what PostgreSQL's driver takes."""
    try:
        out = orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # Raises TypeError itself for what it cannot write, as it always did.
        return json.dumps(value).encode()
    if b"null" in out and _non_finite(value):
        return json.dumps(value).encode()
    return out


def dumps(value: Any) -> str:
    """``value`` as JSON text: what SQLite stores."""
    return dumps_bytes(value).decode()


def dumps_texts(value: Any) -> str:
    """``value``, made only of text, None, and dicts and lists of them, as JSON text.

    For the values the store builds itself (properties, history changes, journal changes,
    bases): no float can be in them, so the search for NaN is skipped.
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # lone surrogates
        return json.dumps(value)


def loads(data: str | bytes | bytearray | memoryview) -> Any:
    """JSON text or UTF-8 bytes as Python values, as the json module reads them.

    orjson reads an integer beyond 64 bits as a float, where the json module keeps it an
    integer: so a result holding a float is checked for a run of 19 digits or more, and
    then read by the json module. A result without a float (the store's documents are
    text) needs no look at the text at all: searching every document for the run cost
    more than reading it.
    """
    if not isinstance(data, str | bytes):
        data = bytes(data)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
    if _has_float(value):
        if isinstance(data, str):
            long_digits = _LONG_DIGITS.search(data) is not None
        else:
            long_digits = _LONG_DIGITS_BYTES.search(data) is not None
        if long_digits:
            return json.loads(data)
    return value


def _has_float(value: Any) -> bool:
    """Whether a float is somewhere in ``value`` (a value orjson read)."""
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return False
    for item in value:
        kind = type(item)
        if kind is str or item is None or kind is int or kind is bool:
            continue
        if kind is float or _has_float(item):
            return True
    return False


def _non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity is somewhere in ``value`` (orjson writes them as null)."""
    kind = type(value)
    if kind is str or value is None:
        return False
    if kind is float or isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return False
    return any(_non_finite(item) for item in value if type(item) is not str)
