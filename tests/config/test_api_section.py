"""The ``api:`` section: defaults, sizes with units, and every mistake located at its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.models import ApiConfig
from tests.config._helpers import load, problems


def test_defaults_without_the_section(tmp_path: Path) -> None:
    api = load(tmp_path, "store: {url: 'sqlite:///x.db'}\n").api
    assert api.enabled is True
    assert (api.rate_limit.max, api.rate_limit.interval_ms) == (190, 10_000)
    assert api.max_body_bytes == 4 * 1024 * 1024
    assert ApiConfig() == api


def test_a_full_section(tmp_path: Path) -> None:
    text = """\
    api:
      enabled: false
      rate_limit: {max: 100, interval_ms: 10000}
      max_body_bytes: 512KiB
    """
    api = load(tmp_path, text).api
    assert api.enabled is False
    assert (api.rate_limit.max, api.rate_limit.interval_ms) == (100, 10_000)
    assert api.max_body_bytes == 512 * 1024


@pytest.mark.parametrize(
    ("written", "size"),
    [("1048576", 1_048_576), ("1MiB", 1_048_576), ("2 MB", 2_000_000), ("64kib", 65_536)],
)
def test_body_sizes_with_units(tmp_path: Path, written: str, size: int) -> None:
    assert load(tmp_path, f"api: {{max_body_bytes: {written}}}\n").api.max_body_bytes == size


BROKEN = {
    "unknown key": ("api:\n  rate_limits: {max: 5}\n", "api.rate_limits", "unknown key"),
    "unknown rate key": (
        "api:\n  rate_limit: {maximum: 5}\n",
        "api.rate_limit.maximum",
        "unknown key",
    ),
    "zero max": (
        "api:\n  rate_limit: {max: 0}\n",
        "api.rate_limit.max",
        "greater than or equal to 1",
    ),
    "max as text": ("api:\n  rate_limit: {max: '5'}\n", "api.rate_limit.max", "whole number"),
    "max as bool": ("api:\n  rate_limit: {max: true}\n", "api.rate_limit.max", "whole number"),
    "tiny interval": (
        "api:\n  rate_limit: {interval_ms: 5}\n",
        "api.rate_limit.interval_ms",
        "greater than or equal to 100",
    ),
    "enabled as word": ("api:\n  enabled: 'on'\n", "api.enabled", "true or false"),
    "body too small": ("api:\n  max_body_bytes: 10\n", "api.max_body_bytes", "between 1024"),
    "body too big": ("api:\n  max_body_bytes: 10GiB\n", "api.max_body_bytes", "256MiB"),
    "body nonsense": ("api:\n  max_body_bytes: lots\n", "api.max_body_bytes", "such as 4MiB"),
    "body huge digits": (
        "api:\n  max_body_bytes: '" + "9" * 5000 + "'\n",
        "api.max_body_bytes",
        "such as 4MiB",
    ),
    "section not a mapping": ("api: yes-please\n", "api", "mapping"),
}


@pytest.mark.parametrize(("text", "key", "words"), BROKEN.values(), ids=BROKEN.keys())
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, words: str) -> None:
    found = problems(tmp_path, text)
    assert [p.key for p in found] == [key], found
    assert words in found[0].message
    assert found[0].line is not None


def test_a_misspelt_section_is_suggested(tmp_path: Path) -> None:
    found = problems(tmp_path, "apii: {enabled: true}\n")
    assert found[0].suggestion == "api"
