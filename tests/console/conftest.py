"""The console's fixtures: a world with data (``_world``) served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store
from tests.console._world import World, build_world, serve_world


@pytest.fixture
def world(tmp_path: Path, db_url: str, store: Store) -> Iterator[World]:
    yield from build_world(tmp_path, db_url, store)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    yield from serve_world(world)
