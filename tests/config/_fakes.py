"""A connector type for config tests, registered as ``fake`` by the ``fake_connector`` fixture.

Its options have the SQL connector's shape (a URL secret and configured objects), so the
checks that read ``objects`` are exercised without a database driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors import registry
from connectors.base import (
    ChangePage,
    Connector,
    ConnectorOptions,
    Cursor,
    ExternalRecord,
    WriteRequest,
    WriteResult,
)


class FakeObject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    id: str = "id"
    updated_at: str | None = None


class FakeOptions(ConnectorOptions):
    url: SecretStr
    objects: dict[str, FakeObject] = Field(default_factory=dict)


class FakeConnector(Connector):
    type_name = "fake"
    options_model = FakeOptions

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        return ChangePage(records=[], cursor=cursor, has_more=False)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        return []

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        return {}

    def iter_ids(self, external_object: str) -> Iterator[str]:
        return iter(())

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        return []

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        return []


def register_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``type: fake`` known to the registry for one test."""
    types = {**registry.CONNECTOR_TYPES, "fake": f"{__name__}:FakeConnector"}
    monkeypatch.setattr(registry, "CONNECTOR_TYPES", types)
