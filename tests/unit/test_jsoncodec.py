"""The store's JSON codec writes and reads every value as the json module did before it.

orjson differs from the json module on non-text keys, integers beyond 64 bits, NaN and
infinities, lone surrogates and types the json module refuses; the codec hands those back to
the json module. Compared here with the json module on random values, the edge cases named.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.db.jsoncodec import dumps, dumps_bytes, loads

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN and types kept (1 is not 1.0 nor True)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(_values)
def test_written_values_read_back_as_the_json_module_wrote_them(value: Any) -> None:
    before = json.loads(json.dumps(value))
    assert _same(json.loads(dumps(value)), before)
    assert _same(loads(dumps(value)), before)
    assert _same(loads(dumps_bytes(value)), before)


@given(_values)
def test_what_the_json_module_stored_reads_back_the_same(value: Any) -> None:
    stored = json.dumps(value)
    assert _same(loads(stored), json.loads(stored))
    assert _same(loads(stored.encode()), json.loads(stored))
    assert _same(loads(memoryview(stored.encode())), json.loads(stored))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"é": "ü😀"}, '{"é":"ü😀"}'),
        ({"big": 2**64}, '{"big": 18446744073709551616}'),
        ({"small": -(2**63) - 1}, '{"small": -9223372036854775809}'),
        ({"nan": math.inf}, '{"nan": Infinity}'),
        ({1: "a", None: "b"}, '{"1": "a", "null": "b"}'),
        ("\ud800", '"\\ud800"'),
    ],
    ids=["unicode", "beyond-u64", "beyond-i64", "infinity", "non-text-keys", "lone-surrogate"],
)
def test_edge_cases_are_written_as_the_readers_expect(value: Any, text: str) -> None:
    assert dumps(value) == text
    assert _same(loads(text), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 12345678901234567890123}',
        '{"n": -9223372036854775809}',
        '{"n": NaN, "m": -Infinity}',
        '{"n": 1e400}',
        '"\\udc00"',
        '{"phone": "12345678901234567890"}',
        '{"é": "\\u00fc"}',
    ],
    ids=[
        "big-int",
        "below-i64",
        "nan",
        "beyond-double",
        "lone-surrogate",
        "digits-in-text",
        "escapes",
    ],
)
def test_stored_edge_cases_read_as_the_json_module_reads_them(text: str) -> None:
    assert _same(loads(text), json.loads(text))
    assert _same(loads(text.encode()), json.loads(text))


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 1, 1, tzinfo=UTC), _Point(1), {1j: 1}],
    ids=["datetime", "dataclass", "complex"],
)
def test_values_the_json_module_refuses_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps(value)
