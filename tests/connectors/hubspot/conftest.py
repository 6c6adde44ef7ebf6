"""Fixtures: a respx router on HubSpot's base URL, a fake clock, and a connector factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from connectors.hubspot import HubSpotConnector, HubSpotOptions

from .fake import BASE

TOKEN = "pat-na1-00000000-SECRET-TOKEN"
#: A definition HubSpot marks read-only: a write carrying it must leave it out.
READ_ONLY_PROPERTY = {
    "name": "associatedcompanyid",
    "type": "number",
    "fieldType": "number",
    "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": True},
}


class Clock:
    """Monotonic seconds that move only when the connector sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        # Writes read the object's property definitions once (read-only ones are never sent).
        mock.get(url__regex=r"/crm/v3/properties/[^/]+$", name="properties").mock(
            return_value=httpx.Response(200, json={"results": [READ_ONLY_PROPERTY]})
        )
        yield mock


Factory = Callable[..., HubSpotConnector]


def options(**overrides: Any) -> HubSpotOptions:
    raw: dict[str, Any] = {
        "access_token": TOKEN,
        "objects": {
            "people": {
                "object_type": "contacts",
                "properties": ["email", "firstname", "lastname"],
                "id_property": "email",
                "lookback_seconds": 30,
            },
            "orgs": {"object_type": "companies", "properties": ["name", "domain"]},
            "cars": {"object_type": "2-123", "properties": ["vin"]},
        },
        "retry": {"attempts": 3, "max_wait_seconds": 30},
        "app_id": "7906213",
        "webhook": {"secret": "client-secret-xyz"},
    }
    raw.update(overrides)
    return HubSpotOptions.model_validate(raw)


@pytest.fixture
def make(clock: Clock) -> Iterator[Factory]:
    made: list[HubSpotConnector] = []

    def factory(search_cap: int = 10_000, **overrides: Any) -> HubSpotConnector:
        connector = HubSpotConnector(
            "hs", options(**overrides), clock=clock.now, sleep=clock.sleep, search_cap=search_cap
        )
        made.append(connector)
        return connector

    yield factory
    for connector in made:
        connector.close()
