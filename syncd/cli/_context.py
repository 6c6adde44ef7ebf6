"""Global options and the one way a command reaches the store.

The store URL is chosen once, by precedence: ``--db`` > ``SYNCD_DB`` > the config file's
``store: {url: ...}`` > ``sqlite:///syncd.db``. The config file is read only when the URL
is not given outright, so a broken ``syncd.yaml`` never stands in the way of ``--db``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store import ChangeSource, Store

__all__ = ["CLI_SOURCE", "DEFAULT_CONFIG", "DEFAULT_DB_URL", "CliState", "get_state"]

DEFAULT_DB_URL = "sqlite:///syncd.db"
DEFAULT_CONFIG = Path("syncd.yaml")
# Every write the CLI makes is a person at a keyboard: HubSpot calls that CRM_UI.
CLI_SOURCE = ChangeSource.cli()


@dataclass
class CliState:
    """What the global options asked for, and the secrets error output must never show."""

    db: str | None = None
    config: Path | None = None
    json: bool = False
    secrets: list[str] = field(default_factory=list)

    def store_url(self) -> str:
        if self.db:
            return self.db
        path = self.config
        if path is None and DEFAULT_CONFIG.is_file():
            path = DEFAULT_CONFIG
        if path is not None:
            from config import load_store_url  # the config package is slow to import

            url = load_store_url(path)
            if url:
                return url
        return DEFAULT_DB_URL

    def remember_secret(self, url: str) -> None:
        """Note the URL's password so that no error message can print it."""
        try:
            password = make_url(url).password
        except ArgumentError:
            return
        if password:
            self.secrets.append(str(password))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def open_store(self, url: str | None = None) -> Iterator[Store]:
        """The store, migrated to this version's schema (``Store.open`` applies migrations)."""
        url = url or self.store_url()
        self.remember_secret(url)
        store = Store.open(url)
        try:
            yield store
        finally:
            store.close()


def get_state(ctx: typer.Context) -> CliState:
    """The global options, set by the root callback (a bare state when a test skips it)."""
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState()
        ctx.find_root().obj = state
    return state
