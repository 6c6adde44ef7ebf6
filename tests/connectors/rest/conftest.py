"""Fixtures: the test API on a free port, connectors built from plain option dicts, a fake
clock whose sleeps advance it (so pacing is asserted, never timed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.rest import RestConnector, RestOptions
from tests.connectors.rest.server import Server, serve


class FakeClock:
    """Monotonic time and wall time that move only when something sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.wall = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds
        self.wall += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def _running_api() -> Iterator[Server]:
    yield from serve(Server())


@pytest.fixture
def api(_running_api: Server) -> Server:
    _running_api.reset()
    return _running_api


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeConnector = Callable[..., RestConnector]


@pytest.fixture
def make(clock: FakeClock) -> Iterator[MakeConnector]:
    """Builds connectors from option dicts (as YAML would give them); closes them after."""
    made: list[RestConnector] = []

    def build(options: dict[str, Any], *, fake_time: bool = True) -> RestConnector:
        parsed = RestOptions.model_validate(options)
        if fake_time:
            connector = RestConnector("shop", parsed, sleep=clock.sleep, clock=clock, now=clock.now)
        else:
            connector = RestConnector("shop", parsed)
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()
