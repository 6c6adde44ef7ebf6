"""The files the demo owns, how it recognises them, and its config.

The demo writes ``syncd.db`` into the current directory by default, the same name as a real
store, so it must never take a file it did not write: each SQLite file it creates carries an
``application_id`` in its header and the config starts with a marker line. Anything else in
the way is refused, and a re-run replaces only files that carry the mark.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from syncd.daemon.process_lock import ProcessLock
from syncd.errors import UsageError

__all__ = ["CONFIG_MARK", "DemoFiles"]

#: ``PRAGMA application_id`` of every SQLite file the demo creates ("dmo1" as an integer).
APPLICATION_ID = int.from_bytes(b"dmo1", "big")
CONFIG_MARK = "# syncd demo config: written by `syncd demo`, which resets it on every run."

CONFIG_TEMPLATE = """\
{mark}
# Two syncs between the CRM store and a "web shop" (a SQLite file), polled every second.
store: {{url: {store_url}}}
connectors:
  shop:
    type: sql
    url: {shop_url}
    objects:
      customers: {{table: customers, id: id, updated_at: updated_at, lookback_seconds: 1}}
      companies: {{table: companies, id: id, updated_at: updated_at, lookback_seconds: 1}}
syncs:
  shop-companies:
    connector: shop
    external_object: companies
    crm_object: companies
    schedule: {{every: 1s}}
    match: {{crm: domain, external: domain}}
    conflict: most_recent
    fields:
      - {{crm: name, external: name}}
      - {{crm: domain, external: domain, transform: lowercase}}
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    schedule: {{every: 1s}}
    match: {{crm: email, external: email}}
    conflict: most_recent
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
      - {{crm: lastname, external: last_name}}
      - {{crm: phone, external: phone, transform: e164, options: {{region: DE}}}}
      - crm: lifecyclestage
        external: stage
        values: {{prospect: lead, trial: opportunity, paying: customer, churned: other}}
        unmapped: skip
    associations:
      - {{external: company_id, crm_object: companies, sync: shop-companies}}
"""


def _is_demo_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        return False
    # The SQLite header: magic text, then application_id big-endian at offset 68.
    return header[:16] == b"SQLite format 3\x00" and header[68:72] == APPLICATION_ID.to_bytes(
        4, "big"
    )


def _is_demo_config(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().rstrip("\n") == CONFIG_MARK
    except OSError:
        return False


def _new_sqlite(path: Path) -> None:
    """An empty SQLite file carrying the demo's mark (the store migrates it on open).

    WAL, as the store uses: the demo's reads of the shop never hold up the daemon's writes.
    """
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.commit()
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()


@dataclass(frozen=True)
class DemoFiles:
    """``syncd-demo.yaml``, ``syncd.db`` and ``demo-shop.db`` in one directory."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "syncd-demo.yaml"

    @property
    def store(self) -> Path:
        return self.directory / "syncd.db"

    @property
    def shop(self) -> Path:
        return self.directory / "demo-shop.db"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.store}"

    def _leftovers(self) -> list[Path]:
        """Files SQLite and the daemon keep beside the databases."""
        return [
            db.with_name(db.name + suffix)
            for db in (self.store, self.shop)
            for suffix in ("-journal", "-wal", "-shm")
        ]

    def reset(self) -> None:
        """Remove the demo's own files, refusing before touching anything if one is not ours."""
        directory = self.directory
        if not directory.is_dir():
            raise UsageError(f"--dir {directory}: no such directory")
        if "$" in str(directory):
            raise UsageError(
                f"--dir {directory}: the demo config cannot hold a path with '$'; pick another"
            )
        checks = ((self.config, _is_demo_config), (self.store, _is_demo_sqlite))
        for path, is_ours in (*checks, (self.shop, _is_demo_sqlite)):
            if path.is_dir() or (path.exists() and not is_ours(path)):
                raise UsageError(
                    f"{path} exists and was not written by `syncd demo`; not overwriting it"
                    " (move it away or give --dir EMPTY_DIRECTORY)"
                )
        # A demo (or `syncd run` on the demo config) still running there keeps its files.
        lock = ProcessLock.acquire(self.store.resolve())
        try:
            for path in (self.config, self.store, self.shop, *self._leftovers()):
                path.unlink(missing_ok=True)
            _new_sqlite(self.store)
            _new_sqlite(self.shop)
        finally:
            lock.release()

    def write_config(self) -> None:
        self.config.write_text(
            CONFIG_TEMPLATE.format(
                mark=CONFIG_MARK,
                # JSON strings are YAML strings: any path quoted safely.
                store_url=json.dumps(self.store_url),
                shop_url=json.dumps(f"sqlite:///{self.shop}"),
            ),
            encoding="utf-8",
        )
