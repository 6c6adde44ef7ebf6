"""The daemon in-process: scheduled passes, the HTTP endpoints, reload, stop, one per SQLite.

Subprocess kill, signal and scale-out tests live in ``tests/daemon``; these check the
behaviour a user relies on with the daemon driven directly, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    update,
)

from store import ChangeSource, SourceType, Store
from store.errors import NotFoundError
from syncd.daemon import Daemon, DaemonOptions
from syncd.errors import UsageError

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
server: {{listen: "127.0.0.1:{port}"}}
connectors:
  shop:
    type: sql
    url: "sqlite:///{shop}"
    objects:
      customers: {{table: customers, lookback_seconds: 1}}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    schedule: {{every: 0.3}}
    match: {{crm: email, external: email}}
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
{extra}
"""

meta = MetaData()
customers = Table(
    "customers",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(200), unique=True),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("updated_at", DateTime, nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(customers).values(email="ada@x.io", first_name="Ada", updated_at=_now())
        )
    yield engine
    engine.dispose()


def _config(tmp_path: Path, port: int, extra: str = "") -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(port=port, shop=tmp_path / "shop.db", extra=extra))
    return path


@pytest.fixture
def daemon(db_url: str, tmp_path: Path, shop: Engine) -> Iterator[Daemon]:
    port = _free_port()
    running = Daemon(
        _config(tmp_path, port),
        db_url=db_url,
        options=DaemonOptions(holder="test-daemon", lease_seconds=5, listen=f"127.0.0.1:{port}"),
    )
    running.start()
    running.wait_until_serving()
    try:
        yield running
    finally:
        running.stop()


def _contact(store: Store, email: str) -> dict[str, str] | None:
    try:
        return dict(store.find_record("contacts", "email", email).properties)
    except NotFoundError:
        return None


def test_scheduled_passes_carry_changes_both_ways(
    daemon: Daemon, store: Store, shop: Engine
) -> None:
    assert daemon.when(lambda: _contact(store, "ada@x.io") is not None, timeout=10)
    with shop.begin() as conn:
        conn.execute(update(customers).values(first_name="Augusta", updated_at=_now()))
    assert daemon.when(
        lambda: (_contact(store, "ada@x.io") or {}).get("firstname") == "Augusta", 10
    )

    store.create_record("contacts", {"email": "bob@x.io", "firstname": "Bob"}, UI)

    def in_shop() -> bool:
        with shop.connect() as conn:
            return (
                conn.execute(
                    select(customers.c.first_name).where(customers.c.email == "bob@x.io")
                ).scalar()
                == "Bob"
            )

    assert daemon.when(in_shop, 10)


def test_health_readiness_and_metrics(daemon: Daemon, store: Store) -> None:
    assert daemon.when(lambda: _contact(store, "ada@x.io") is not None, timeout=10)
    base = f"http://{daemon.options.listen}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
    answer = httpx.get(f"{base}/metrics")
    assert answer.status_code == 200
    names = {family.name for family in text_string_to_metric_families(answer.text)}
    assert "syncd_records_synced" in names or "syncd_records_synced_total" in names


def test_stop_is_prompt_and_releases_the_lease(
    db_url: str, tmp_path: Path, shop: Engine, store: Store
) -> None:
    port = _free_port()
    running = Daemon(
        _config(tmp_path, port),
        db_url=db_url,
        options=DaemonOptions(holder="first", lease_seconds=30, listen=f"127.0.0.1:{port}"),
    )
    running.start()
    assert running.when(lambda: _contact(store, "ada@x.io") is not None, timeout=10)
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 10
    # Released at once: another process need not wait out the 30 s lease.
    assert store.acquire_lease("shop-customers", "second", timedelta(seconds=30)) is not None


def test_reload_applies_a_valid_config_and_keeps_the_old_on_errors(
    daemon: Daemon, store: Store, shop: Engine, tmp_path: Path
) -> None:
    assert daemon.when(lambda: _contact(store, "ada@x.io") is not None, timeout=10)
    with shop.begin() as conn:
        conn.execute(update(customers).values(last_name="Lovelace", updated_at=_now()))
    path = daemon.config_path
    good = path.read_text().replace(
        "      - {crm: firstname, external: first_name}\n",
        "      - {crm: firstname, external: first_name}\n      - {crm: lastname, external: last_name}\n",
    )
    path.write_text(good)
    assert daemon.reload() is True
    assert daemon.when(
        lambda: (_contact(store, "ada@x.io") or {}).get("lastname") == "Lovelace", 10
    )

    path.write_text(good.replace("crm: lastname", "crm: lastnme"))  # a typo
    assert daemon.reload() is False
    assert "lastname" in [f.name for f in daemon._syncs["shop-customers"].spec.fields]


def test_a_second_daemon_on_one_sqlite_store_is_refused(
    db_url: str, tmp_path: Path, shop: Engine
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL shares the work between daemons instead")
    first = Daemon(
        _config(tmp_path, _free_port()), db_url=db_url, options=DaemonOptions(http=False)
    )
    try:
        with pytest.raises(UsageError, match="one daemon only"):
            Daemon(
                _config(tmp_path, _free_port()), db_url=db_url, options=DaemonOptions(http=False)
            )
    finally:
        first.close()
