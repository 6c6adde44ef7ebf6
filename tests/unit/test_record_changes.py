"""Randomized equivalence of the store's whole-input validation with the per-value one.

``store.records.sql._changes`` accepts an input whose values are all plain text in a few
whole-input checks and looks at the other names (an email, a number) one by one. Given no
plain properties it checks every value through ``canonical_value``: the reference. Both
must give the same changes in the same order, or the same error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from store.db.catalog import LoadedObject
from store.errors import RecordWriteError
from store.models import ChangeSource, ObjectSchema, PropertyDef, SourceType
from store.records.sql import _changes, _plain_properties

_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _prop(name: str, type_: str = "string", **kw: Any) -> PropertyDef:
    fields: dict[str, Any] = {
        "object": "things",
        "name": name,
        "label": name,
        "type": type_,
        "field_type": "text" if type_ == "string" else type_,
        "group": None,
        "description": "",
        "options": (),
        "unique": False,
        "read_only": False,
        "format": None,
        "builtin": False,
        "archived": False,
        "display_order": 0,
        "created_at": _T0,
        "updated_at": _T0,
    }
    fields.update(kw)
    return PropertyDef(**fields)


LIVE = {
    "t1": _prop("t1"),
    "t2": _prop("t2"),
    "t3": _prop("t3"),
    "email": _prop("email", format="email", unique=True),
    "n": _prop("n", "number"),
    "ro": _prop("ro", read_only=True),
    "hs_object_id": _prop("hs_object_id", read_only=True),
}
OBJ = LoadedObject(
    id=1,
    schema=ObjectSchema(
        name="things",
        type_id="2-1",
        singular_label="Thing",
        plural_label="Things",
        primary_display_property=None,
        required_properties=(),
        searchable_properties=(),
        secondary_display_properties=(),
        description="",
        custom=True,
        activity=False,
        archived=False,
        created_at=_T0,
        updated_at=_T0,
        properties=LIVE,
    ),
    all_properties={**LIVE, "old": _prop("old", archived=True)},
)
NAMES = st.sampled_from(["t1", "t2", "t3", "t1", "t2", "email", "n", "ro", "old", "nope", 7])
PLAIN = st.sampled_from(["x", "y", "a@b.co", "not mail", "1.50", "y" * 65_536])
VALUES = st.one_of(
    PLAIN,
    st.sampled_from(["", "é", "a\x00b", "y" * 65_537]),
    st.text(max_size=3),
    st.none(),
    st.integers(-3, 3),
)
SOURCES = st.sampled_from(
    [ChangeSource(SourceType.INTEGRATION, "t"), ChangeSource(SourceType.CALCULATED, "t")]
)


def _outcome(
    raw: dict[Any, Any], current: dict[str, str], source: ChangeSource, plain: frozenset[str]
) -> tuple[str, object]:
    try:
        return ("ok", list(_changes(OBJ, raw, current, source, plain).items()))
    except RecordWriteError as exc:
        return ("error", (type(exc).__name__, str(exc)))


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.dictionaries(NAMES, PLAIN, max_size=6), st.dictionaries(NAMES, VALUES, max_size=6)
    ),
    st.dictionaries(st.sampled_from(["t1", "t2", "email", "n"]), st.sampled_from(["x", "1.5"])),
    SOURCES,
)
def test_whole_input_validation_equals_the_per_value_checks(
    raw: dict[Any, Any], current: dict[str, str], source: ChangeSource
) -> None:
    plain = _plain_properties(OBJ)
    assert plain == {"t1", "t2", "t3"}
    for stored in ({}, current):
        assert _outcome(raw, stored, source, plain) == _outcome(raw, stored, source, frozenset())
