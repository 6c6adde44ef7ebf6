from __future__ import annotations

import pytest

from tests.config._fakes import register_fake


@pytest.fixture(autouse=True)
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    register_fake(monkeypatch)
