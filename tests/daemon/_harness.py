"""Daemons as real processes, an external "shop" table, and the invariants a crash must keep.

Every helper here looks at what a user can see: the daemon's JSON log lines on stderr, its
exit code, the CRM store's records and links, and the shop's rows.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
    update,
)

from store import ChangeSource, SourceType, Store

REPO = Path(__file__).resolve().parents[2]
UI = ChangeSource(SourceType.CRM_UI, "daemon-test")
#: What each sync maps: CRM property -> shop column.
FIELDS = {"email": "email", "firstname": "first_name", "lastname": "last_name"}
WRITE_KEYS = (
    "inbound.created",
    "inbound.updated",
    "inbound.deleted",
    "inbound.archived",
    "inbound.associated",
    "outbound.created",
    "outbound.updated",
    "outbound.deleted",
)


def now_naive() -> datetime:
    """Naive UTC with microseconds, as the shop's plain DATETIME column holds it."""
    return datetime.now(UTC).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------ the shop


@dataclass
class Shop:
    """One external table of customers; emails deliberately not unique, so a duplicate shows."""

    engine: Engine
    table: Table

    @classmethod
    def create(cls, engine: Engine, name: str, *, extra: Iterable[str] = ()) -> Shop:
        meta = MetaData()
        table = Table(
            name,
            meta,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("email", String(200)),
            Column("first_name", String(100)),
            Column("last_name", String(100)),
            *(Column(c, String(100)) for c in extra),
            Column("updated_at", DateTime(timezone=False), nullable=False),
        )
        meta.create_all(engine)
        return cls(engine, table)

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        stamp = now_naive()
        with self.engine.begin() as conn:
            conn.execute(insert(self.table), [{"updated_at": stamp, **r} for r in rows])

    def edit(self, row_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c.id == row_id)
                .values(updated_at=now_naive(), **values)
            )

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                dict(r._mapping) for r in conn.execute(select(self.table).order_by(self.table.c.id))
            ]

    def drop(self) -> None:
        self.table.drop(self.engine, checkfirst=True)


def people(prefix: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"email": f"{prefix}{n}@x.io", "first_name": f"F{n}", "last_name": f"L{prefix}{n}"}
        for n in range(start, start + count)
    ]


def seed_crm(store: Store, prefix: str, count: int, **extra: str) -> None:
    """CRM-only contacts, made by a person (so outbound pushes them)."""
    inputs = [
        {"email": p["email"], "firstname": p["first_name"], "lastname": p["last_name"], **extra}
        for p in people(prefix, count)
    ]
    for start in range(0, len(inputs), 100):
        store.create_records("contacts", inputs[start : start + 100], UI)


# ------------------------------------------------------------------ config


def sync_yaml(
    name: str,
    table: str,
    *,
    every: float = 0.5,
    batch_size: int = 50,
    extra_fields: Iterable[str] = (),
    crm_filter: tuple[str, str] | None = None,
) -> str:
    lines = [
        f"  {name}:",
        "    connector: shop",
        f"    external_object: {table}",
        "    crm_object: contacts",
        f"    schedule: {{every: {every}}}",
        "    match: {crm: email, external: email}",
        f"    batch_size: {batch_size}",
    ]
    if crm_filter is not None:
        lines += [
            "    filters:",
            f"      crm: [{{field: {crm_filter[0]}, op: eq, value: {crm_filter[1]}}}]",
        ]
    lines += [
        "    fields:",
        "      - {crm: email, external: email, transform: lowercase}",
        "      - {crm: firstname, external: first_name}",
        "      - {crm: lastname, external: last_name}",
        *(f"      - {{crm: {crm}, external: {ext}}}" for crm, ext in _pairs(extra_fields)),
    ]
    return "\n".join(lines)


def _pairs(items: Iterable[str]) -> list[tuple[str, str]]:
    return [tuple(i.split("=", 1)) for i in items]  # type: ignore[misc]


def write_config(
    path: Path,
    *,
    store_url: str,
    shop_url: str,
    tables: list[str],
    syncs: list[str],
    connector_type: str = "sql",
    webhook_secret: str | None = None,
) -> Path:
    objects = "\n".join(
        f"      {t}: {{table: {t}, id: id, updated_at: updated_at, lookback_seconds: 1}}"
        for t in tables
    )
    hook = f'\n    webhook: {{secret: "{webhook_secret}"}}' if webhook_secret else ""
    path.write_text(
        f'store: {{url: "{store_url}"}}\n'
        "connectors:\n"
        "  shop:\n"
        f"    type: {connector_type}\n"
        f'    url: "{shop_url}"{hook}\n'
        "    objects:\n"
        f"{objects}\n"
        "syncs:\n" + "\n".join(syncs) + "\n"
    )
    return path


# ------------------------------------------------------------------ daemon processes


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every JSON object in ``text``, also those two threads wrote onto one line.

    ``syncd.logs`` prints a line and its newline in two writes, and a daemon running many
    syncs at once was seen to interleave them (``{...}{...}`` then an empty line); reading
    both objects keeps the run attribution whole. Tracebacks and other text are skipped.
    """
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        position = 0
        while (start := line.find("{", position)) != -1:
            try:
                item, position = decoder.raw_decode(line, start)
            except ValueError:
                break
            if isinstance(item, dict):
                found.append(item)
    return found


@dataclass
class DaemonProcess:
    """One ``syncd run`` as a real process, its stderr parsed as JSON log lines."""

    config: Path
    holder: str
    workdir: Path
    lease_seconds: float = 3.0
    faults: dict[str, str] = field(default_factory=dict)
    plain: bool = False  # the console script itself, no fault wrapper
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _files: list[IO[bytes]] = field(default_factory=list)
    generation: int = 0

    @property
    def marker(self) -> Path:
        return self.workdir / f"{self.holder}.fault"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"{self.holder}.{self.generation}.err"

    @property
    def pid_file(self) -> Path:
        return self.workdir / f"{self.holder}.pid"

    def start(self, **faults: str) -> DaemonProcess:
        """Start (again): each start logs to a new file, so one life's lines stay apart."""
        self.generation += 1
        self.marker.unlink(missing_ok=True)
        entry = ["-m", "syncd"] if self.plain else ["-m", "tests.daemon._run_with_faults"]
        args = [
            sys.executable,
            *entry,
            "--config",
            str(self.config),
            "run",
            "--holder",
            self.holder,
            "--lease-seconds",
            str(self.lease_seconds),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--pid-file",
            str(self.pid_file),
        ]
        env = {**os.environ, "SYNCD_FAULT_MARKER": str(self.marker)}
        env.pop("SYNCD_FAULT", None)
        env.update(faults or self.faults)
        out = (self.workdir / f"{self.holder}.{self.generation}.out").open("wb")
        err = self.stderr_path.open("wb")
        self._files += [out, err]
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def events(self, generation: int | None = None) -> list[dict[str, Any]]:
        path = self.workdir / f"{self.holder}.{generation or self.generation}.err"
        return json_lines(path.read_text(errors="replace"))

    def all_events(self) -> list[dict[str, Any]]:
        return [e for g in range(1, self.generation + 1) for e in self.events(g)]

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for(
        self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.events()):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.holder} exited ({self.proc.returncode}) waiting for {what}:\n"
                    + self.stderr()[-3000:]
                )
            time.sleep(0.1)
        raise AssertionError(
            f"{self.holder}: no {what} within {timeout}s:\n{self.stderr()[-3000:]}"
        )

    def wait_started(self, timeout: float = 20.0) -> None:
        """The daemon logged ``daemon_started`` and its HTTP server accepts connections.

        The line is logged as the server's thread starts, not once it listens: on a loaded
        machine a webhook posted right after it was refused.
        """
        deadline = time.monotonic() + timeout
        self.wait_for(lambda ev: any(e["event"] == "daemon_started" for e in ev), timeout, "start")
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert self.proc is not None
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.holder}: not listening on {self.port} within {timeout}s:\n"
                        + self.stderr()[-3000:]
                    ) from None
                time.sleep(0.05)

    def wait_marker(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            assert self.proc is not None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.holder}: the fault point was not reached:\n{self.stderr()[-3000:]}"
                )
            time.sleep(0.02)

    def wait_quiet(self, syncs: Iterable[str], timeout: float = 40.0) -> None:
        """Two consecutive passes of every sync wrote nothing, on either side."""
        names = list(syncs)

        def quiet(events: list[dict[str, Any]]) -> bool:
            for name in names:
                passes = [
                    e for e in events if e["event"] == "sync_finished" and e.get("sync") == name
                ]
                if len(passes) < 2 or any(
                    e.get(k) for e in passes[-2:] for k in (*WRITE_KEYS, "stopped")
                ):
                    return False
            return True

        self.wait_for(quiet, timeout, "two quiet passes")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the exit took."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for handle in self._files:
            handle.close()
        self._files.clear()


# ------------------------------------------------------------------ invariants


def crm_contacts(store: Store) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = store.list_records("contacts", after=after, limit=1000)
        if not page:
            return found
        found += [{"id": r.id, **r.properties} for r in page]
        after = page[-1].id


def links(store: Store, sync: str) -> list[Any]:
    found: list[Any] = []
    after: str | None = None
    while True:
        page = store.list_links(sync, after_external_id=after, limit=1000)
        if not page:
            return found
        found += page
        after = page[-1].external_id


def assert_converged(
    store: Store,
    shop: Shop,
    sync: str,
    *,
    expected: int,
    contacts: list[dict[str, Any]] | None = None,
) -> None:
    """No record lost, none duplicated, every base equal to both sides' current values."""
    rows = shop.rows()
    contacts = crm_contacts(store) if contacts is None else contacts
    by_id = {c["id"]: c for c in contacts}
    row_by_id = {str(r["id"]): r for r in rows}
    shop_emails = [r["email"] for r in rows]
    crm_emails = [c.get("email") for c in contacts]
    dup_shop = sorted({e for e in shop_emails if shop_emails.count(e) > 1})
    dup_crm = sorted({str(e) for e in crm_emails if crm_emails.count(e) > 1})
    assert not dup_shop, f"duplicated in the shop: {dup_shop[:10]}"
    assert not dup_crm, f"duplicated in the CRM: {dup_crm[:10]}"
    assert len(rows) == expected, f"shop has {len(rows)} rows, expected {expected}"
    assert len(contacts) == expected, f"CRM has {len(contacts)} contacts, expected {expected}"
    assert set(shop_emails) == set(crm_emails), "the two sides hold different people"
    found = links(store, sync)
    assert len(found) == expected, f"{len(found)} links, expected {expected}"
    assert {link.external_id for link in found} == set(row_by_id), "a shop row is unlinked"
    assert {link.crm_id for link in found} == set(by_id), "a CRM contact is unlinked"
    wrong: list[str] = []
    for link in found:
        crm, row = by_id[link.crm_id], row_by_id[link.external_id]
        for crm_field, ext_field in FIELDS.items():
            base = link.base.get(crm_field)
            if not (base == crm.get(crm_field) == row[ext_field]):
                wrong.append(
                    f"{link.external_id}/{crm_field}: base {base!r}, CRM {crm.get(crm_field)!r},"
                    f" shop {row[ext_field]!r}"
                )
    assert not wrong, f"{len(wrong)} bases differ: {wrong[:5]}"


def pg_schema_url(base: str, schema: str) -> str:
    return f"{base}?options=-csearch_path%3D{schema}"


def drop_schema(engine: Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
