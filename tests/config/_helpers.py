"""Writing a config text to a file and loading it, for the config tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from config import Config, ConfigErrors, ConfigProblem, load_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "config"

HEAD = """\
connectors:
  shop:
    type: fake
    url: "postgresql://shop@db/shop"
    objects:
      customers: {table: customers}
syncs:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def sync_yaml(body: str, *, name: str = "s") -> str:
    """HEAD plus one sync whose settings are ``body`` (indented to fit)."""
    return HEAD + f"  {name}:\n" + textwrap.indent(textwrap.dedent(body), "    ")


def load(tmp_path: Path, text: str, env: Mapping[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), env=env or {})


def problems(
    tmp_path: Path, text: str, env: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text, env)
    return caught.value.problems
