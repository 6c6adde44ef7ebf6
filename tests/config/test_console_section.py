"""The ``console:`` section: defaults, and every mistake located at its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.models import ConsoleConfig
from tests.config._helpers import load, problems


def test_defaults_without_the_section(tmp_path: Path) -> None:
    console = load(tmp_path, "store: {url: 'sqlite:///x.db'}\n").console
    assert console == ConsoleConfig()
    assert (console.enabled, console.session_hours) == (True, 12)


def test_a_full_section(tmp_path: Path) -> None:
    console = load(tmp_path, "console: {enabled: false, session_hours: 2}\n").console
    assert (console.enabled, console.session_hours) == (False, 2)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("console: {enabld: false}\n", "console.enabld", "unknown key"),
        ("console: {enabled: 'no'}\n", "console.enabled", "true or false"),
        ("console: {session_hours: 0}\n", "console.session_hours", "greater than or equal to 1"),
        ("console: {session_hours: 1000}\n", "console.session_hours", "less than or equal to 168"),
        ("console: [1]\n", "console", "mapping"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, words: str) -> None:
    found = problems(tmp_path, text)
    assert [p.key for p in found] == [key], found
    assert words in found[0].message
    assert found[0].line is not None
