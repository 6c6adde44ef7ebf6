"""A link's release marks (``swaps``): syncd's own emptying of a value is no edit outside."""

from __future__ import annotations

from datetime import UTC, datetime

from store import Link
from syncd.engine.swaps import MARK_PREFIX, agreed

T = datetime(2026, 1, 1, tzinfo=UTC)


def _link(base: dict[str, str | None]) -> Link:
    return Link("s", "7", "contacts", 1, base, T, T, T, "v1")


def test_a_link_without_marks_is_left_as_it_is() -> None:
    link = _link({"email": "a@x.io"})
    assert agreed(link, {"email": None}) is link


def test_a_marked_value_read_empty_is_agreed_empty() -> None:
    link = _link({"email": "a@x.io", "firstname": "Ann", MARK_PREFIX + "email": "a@x.io"})
    assert agreed(link, {"email": None, "firstname": "Ann"}).base == {
        "email": None,
        "firstname": "Ann",
    }
    assert agreed(link, {"email": "", "firstname": "Ann"}).base["email"] is None


def test_a_marked_value_still_there_keeps_its_base_and_loses_the_mark() -> None:
    """The pass died before the emptying went out: nothing happened outside."""
    link = _link({"email": "a@x.io", MARK_PREFIX + "email": "a@x.io"})
    assert agreed(link, {"email": "a@x.io"}).base == {"email": "a@x.io"}
    assert agreed(link, {"email": "z@x.io"}).base == {"email": "a@x.io"}  # a user's edit


def test_a_record_gone_outside_loses_the_marks_only() -> None:
    link = _link({"email": "a@x.io", MARK_PREFIX + "email": "a@x.io"})
    assert agreed(link, None).base == {"email": "a@x.io"}
    assert agreed(link, None).external_version == "v1"
