"""Shared pieces of the benchmark suite: scratch stores, a source table, counters, output.

Every measurement runs against a throwaway store (a temp SQLite file, or a fresh PostgreSQL
schema that is dropped afterwards) so runs never see each other's rows, and every figure that
decides a verdict is a count or a ratio taken in the same run.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    text,
)

from conflict import Direction, Rule
from connectors.base import Connector
from connectors.sql import SqlConnector, SqlObjectOptions, SqlOptions
from mapping import FieldMapping, Lowercase
from store import (
    ChangeSource,
    PropertySpec,
    SourceType,
    Store,
    make_engine,
    unwatch_unread,
    watch_unread,
)
from syncd.engine import SyncSpec

BATCH = 500
RESULTS = Path(__file__).parent / "results"

#: The 20 synced properties: six built-in contact properties and 14 custom strings.
STANDARD = ("email", "firstname", "lastname", "city", "jobtitle", "company")
CUSTOM = tuple(f"bench_p{k}" for k in range(1, 15))
PROPERTIES = STANDARD + CUSTOM


# ---------------------------------------------------------------- stores


def db_label(postgres: str | None) -> str:
    return "PostgreSQL" if postgres else "SQLite"


@contextmanager
def scratch_url(postgres: str | None, tmp: Path, name: str = "store") -> Iterator[str]:
    """A store URL nobody else uses; a PostgreSQL schema is dropped again on exit."""
    if postgres is None:
        yield f"sqlite:///{tmp / (name + '.db')}"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def open_store(url: str, properties: Sequence[str] = PROPERTIES) -> Store:
    """A migrated store whose contacts have every custom property the source maps to."""
    store = Store.open(url)
    for name in properties:
        if name in CUSTOM:
            store.create_property("contacts", PropertySpec(name=name, label=name))
    return store


def prefill_crm(url: str, indices: range) -> int:
    """CRM contacts made before any sync (an import): email and first name of source rows
    ``indices``, so a sync matches them by email and fills their other properties."""
    store = Store.open(url)
    source = ChangeSource(SourceType.IMPORT, "bench")
    made = 0
    items = list(indices)
    for start in range(0, len(items), BATCH):
        chunk = [row_values(i, ("email", "firstname")) for i in items[start : start + BATCH]]
        store.create_records("contacts", chunk, source)
        made += len(chunk)
    store.close()
    return made


def postgres_answers(url: str) -> bool:
    try:
        engine = make_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


def postgres_autovacuum(url: str) -> str:
    """The server's autovacuum setting: with it off, nothing ANALYZEs the growing store."""
    engine = make_engine(url)
    with engine.connect() as conn:
        value = str(conn.execute(text("SHOW autovacuum")).scalar())
    engine.dispose()
    return value


# ---------------------------------------------------------------- the source


def row_values(i: int, properties: Sequence[str], tag: str = "") -> dict[str, str]:
    """About 1 KB with all 20 properties: custom values are 56 characters, all distinct."""
    values: dict[str, str] = {}
    for name in properties:
        if name == "email":
            values[name] = f"p{i}@bench.example.com"
        elif name in CUSTOM:
            values[name] = f"{name}-{i}-{tag}".ljust(56, "x")
        else:
            values[name] = f"{name}-{i}{tag}"
    return values


def source_table(properties: Sequence[str]) -> Table:
    return Table(
        "customers",
        MetaData(),
        Column("id", Integer, primary_key=True),
        *(Column(name, String(200)) for name in properties),
        Column("updated_at", DateTime, nullable=False),
    )


def fill_source(
    url: str, table: Table, start: int, stop: int, properties: Sequence[str], *, base: datetime
) -> None:
    """Rows ``start..stop-1``, updated_at ``base`` + 1 ms a row, so the cursor pages them normally."""
    engine = create_engine(url)
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        for lo in range(start, stop, 5000):
            conn.execute(
                insert(table),
                [
                    {
                        "id": i + 1,
                        **row_values(i, properties),
                        "updated_at": base + timedelta(milliseconds=i - start),
                    }
                    for i in range(lo, min(stop, lo + 5000))
                ],
            )
    engine.dispose()


def source_base(rows: int) -> datetime:
    """A start time that puts the last of ``rows`` rows, one per millisecond, in the past."""
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(milliseconds=rows + 60_000)


def connector(url: str) -> SqlConnector:
    return SqlConnector(
        "shop",
        SqlOptions(
            url=url,
            objects={"customers": SqlObjectOptions(table="customers", lookback_seconds=0)},
        ),
    )


def spec(properties: Sequence[str], name: str = "bench") -> SyncSpec:
    """Two-way, matched on email: the shape of a real first sync into a CRM."""
    mappings = [
        FieldMapping((name,), name, transform=Lowercase())
        if name == "email"
        else FieldMapping((name,), name)
        for name in properties
    ]
    return SyncSpec.build(
        name,
        connector="shop",
        external_object="customers",
        crm_object="contacts",
        mappings=mappings,
        direction=Direction.TWO_WAY,
        default_rule=Rule.CRM_WINS,
        match_crm="email",
        match_external="email",
        batch_size=BATCH,
    )


# ---------------------------------------------------------------- counters


_TABLE = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+(\"?\w+\"?)", re.IGNORECASE)


class StatementCounter:
    """SQL statements sent on an engine (one per cursor execute/executemany call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.executemany = 0
        self.by_verb: dict[str, int] = {}
        #: "INSERT records", "SELECT links", ...: where a batch's statements go.
        self.by_table: dict[str, int] = {}

    def _on(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        self.count += 1
        self.executemany += many
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
        found = _TABLE.search(statement)
        key = f"{verb} {found.group(1).strip(chr(34))}" if found else verb
        self.by_table[key] = self.by_table.get(key, 0) + 1

    def _on_unread(self, statement: str) -> None:
        self._on(None, None, statement, None, None, False)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on)
        watch_unread(self.engine, self._on_unread)  # sent without waiting (PostgreSQL)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)
        unwatch_unread(self.engine, self._on_unread)


CONNECTOR_METHODS = ("fetch_changes", "fetch_by_ids", "find_by", "iter_ids", "write", "delete")


class CallCounter:
    """Counts calls to a connector's contract methods by wrapping them on the instance."""

    def __init__(self, target: Connector) -> None:
        self.calls: dict[str, int] = {}
        for name in CONNECTOR_METHODS:
            setattr(target, name, self._wrap(name, getattr(target, name)))

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted

    def reset(self) -> None:
        self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


@contextmanager
def profiled(name: str) -> Iterator[None]:
    """pyinstrument around the block when ``BENCH_PROFILE`` names a folder (``run.py
    --profile``): child processes write their own profile there, as ``NAME-PID.txt``."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path = Path(folder) / f"{name}-{os.getpid()}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True))


# ---------------------------------------------------------------- memory


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident set size (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status (not Linux?)")


# ---------------------------------------------------------------- output


def print_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned table, also returned so the runner can keep it for the README."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    out = "\n".join(lines)
    print(out + "\n", flush=True)
    return out


def verdict(met: bool, misses: Sequence[str] = ()) -> str:
    """PASS, or MISS naming what missed (``misses``: the checks that failed)."""
    if met and not misses:
        return "PASS"
    return "MISS" + (f" ({', '.join(misses)})" if misses else "")


def judge(checks: dict[str, bool]) -> str:
    """One verdict over named checks: ``{"rate": rate >= 5000, ...}``."""
    return verdict(all(checks.values()), [name for name, ok in checks.items() if not ok])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def quiet() -> None:
    """Warnings only: a per-run log line on stdout would drown the tables."""
    from syncd.logs import configure_logging

    configure_logging(json_lines=False, level="warning")
