"""``syncd sync`` and ``syncd conflicts`` as an operator runs them: summaries, exit codes, --json."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
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
from typer.testing import CliRunner

from store import ChangeSource, SourceType, Store, SyncTx
from syncd.cli import app

runner = CliRunner()
UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
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
    match: {{crm: email, external: email}}
    conflict: manual
    fields:
      - {{crm: email, external: email, transform: lowercase}}
      - {{crm: firstname, external: first_name}}
"""

meta = MetaData()
customers = Table(
    "customers",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(200), unique=True),
    Column("first_name", String(100)),
    Column("updated_at", DateTime, nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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


@pytest.fixture
def config(tmp_path: Path, shop: Engine) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(shop=tmp_path / "shop.db"))
    return path


def _syncd(db_url: str, config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db_url, "--config", str(config), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_dry_run_then_real_run(db_url: str, config: Path, store: Store, shop: Engine) -> None:
    code, out, _ = _syncd(db_url, config, "sync", "shop-customers", "--dry-run")
    assert code == 0, out
    assert "dry run, nothing written" in out and "inbound.created=1" in out
    assert "created" in out and "ada@x.io" in out  # the table of what it would do
    assert store.list_records("contacts", limit=10) == []

    code, out, _ = _syncd(db_url, config, "--json", "sync", "shop-customers")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["inbound.created"] == 1 and summary["dry_run"] is False
    assert store.find_record("contacts", "email", "ada@x.io").properties["firstname"] == "Ada"


def test_unknown_sync_is_one_clear_error(db_url: str, config: Path) -> None:
    code, _, err = _syncd(db_url, config, "sync", "nope")
    assert code == 1
    assert "no sync named 'nope'" in err and "shop-customers" in err


def test_missing_config_is_one_clear_error(db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", db_url, "sync", "x"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "no config file" in result.stderr


def test_conflicts_list_show_resolve(db_url: str, config: Path, store: Store, shop: Engine) -> None:
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    ada = store.find_record("contacts", "email", "ada@x.io")
    store.update_record("contacts", ada.id, {"firstname": "CRM"}, UI)
    with shop.begin() as conn:
        conn.execute(update(customers).values(first_name="Shop", updated_at=_now()))
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0

    code, out, _ = _syncd(db_url, config, "--json", "conflicts", "list", "--open")
    assert code == 0
    (held,) = json.loads(out)
    assert (held["field"], held["crm_value"], held["external_value"]) == (
        "firstname",
        "CRM",
        "Shop",
    )

    code, out, _ = _syncd(db_url, config, "conflicts", "show", str(held["id"]))
    assert code == 0 and "firstname" in out

    code, out, _ = _syncd(db_url, config, "conflicts", "resolve", str(held["id"]), "--take", "crm")
    assert code == 0, out
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    with shop.connect() as conn:
        assert conn.execute(select(customers.c.first_name)).scalar_one() == "CRM"

    code, _, err = _syncd(db_url, config, "conflicts", "resolve", str(held["id"]), "--take", "crm")
    assert code == 1 and "already resolved" in err
    code, _, err = _syncd(db_url, config, "conflicts", "resolve", str(held["id"]), "--take", "both")
    assert code != 0 and "crm or external" in err


SECRET_CONFIG = """
connectors:
  erp:
    type: sql
    url: "${{ERP_URL}}"
    objects:
      customers: {{table: no_such_table_here}}
syncs:
  erp-customers:
    connector: erp
    external_object: customers
    crm_object: contacts
    fields:
      - {{crm: email, external: email}}
"""


def test_no_secret_in_any_output_when_a_sync_fails(db_url: str, tmp_path: Path) -> None:
    if not os.environ.get("SYNCD_TEST_POSTGRES_URL"):
        pytest.skip("PostgreSQL not configured (SYNCD_TEST_POSTGRES_URL)")
    secret = "s3cret-Pa55word"  # trust auth on the test server accepts any password
    path = tmp_path / "syncd.yaml"
    path.write_text(SECRET_CONFIG.format())
    result = runner.invoke(
        app,
        ["--db", db_url, "--config", str(path), "sync", "erp-customers"],
        env={"ERP_URL": f"postgresql://postgres:{secret}@127.0.0.1:5432/test"},
    )
    assert result.exit_code == 1
    assert "no_such_table_here" in result.stderr  # the error is there, and says what is wrong
    assert "Traceback" not in result.output
    assert secret not in result.output and secret not in result.stderr


def test_pause_and_resume(db_url: str, config: Path, store: Store) -> None:
    assert _syncd(db_url, config, "pause", "shop-customers", "--reason", "shop migration")[0] == 0
    code, _, err = _syncd(db_url, config, "sync", "shop-customers")
    assert code == 1 and "paused by an operator: shop migration" in err
    assert store.list_records("contacts", limit=10) == []
    assert _syncd(db_url, config, "resume", "shop-customers")[0] == 0
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    assert store.find_record("contacts", "email", "ada@x.io")


# ------------------------------------------------------------------ operators' tools


def test_logs_filters_and_json(db_url: str, config: Path, store: Store, shop: Engine) -> None:
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    ada = store.find_record("contacts", "email", "ada@x.io")

    code, out, _ = _syncd(db_url, config, "--json", "logs", "--sync", "shop-customers")
    assert code == 0
    (created,) = json.loads(out)
    assert (created["action"], created["crm_id"], created["direction"]) == (
        "created",
        ada.id,
        "inbound",
    )

    code, out, _ = _syncd(db_url, config, "--json", "logs", "--action", "error")
    assert code == 0 and json.loads(out) == []
    code, out, _ = _syncd(db_url, config, "logs", "--record", str(ada.id), "--since", "1h")
    assert code == 0 and "created" in out and "ada@x.io" in out
    code, _, err = _syncd(db_url, config, "logs", "--since", "yesterday")
    assert code != 0 and "--since" in err


def test_errors_group_parked_failures_and_retry_makes_them_due(
    db_url: str, config: Path, store: Store, shop: Engine
) -> None:
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    for first in ("One", "Two"):
        store.create_record("contacts", {"email": f"{first.lower()}@x.io"}, UI)
    # Park every record as a pass whose writes the shop refused (422: no retry helps) would.
    ids = [r.id for r in store.list_records("contacts", limit=10)]

    def refused(tx: SyncTx) -> None:
        for crm_id in ids:
            tx.outbound_failed(crm_id, "422 email is invalid", retriable=False)

    store.sync_write("shop-customers", refused)

    code, out, _ = _syncd(db_url, config, "--json", "errors")
    assert code == 0
    (group,) = json.loads(out)
    assert group["cause"] == "422 email is invalid" and group["count"] == 3
    assert group["direction"] == "outbound"

    code, out, _ = _syncd(db_url, config, "errors", "retry", "--sync", "shop-customers")
    assert code == 0 and "3 parked records due again" in out
    assert len(store.outbound_due("shop-customers")) == 3
    code, out, _ = _syncd(db_url, config, "errors")
    assert code == 0 and "no parked errors" in out


@pytest.mark.parametrize("command", [["errors"], ["errors", "retry"]])
def test_errors_of_a_sync_nobody_configured_is_an_error_not_zero_parked(
    db_url: str, config: Path, store: Store, command: list[str]
) -> None:
    code, _, err = _syncd(db_url, config, *command, "--sync", "shop-custmers")
    assert code == 1
    assert "no sync named 'shop-custmers'" in err and "shop-customers" in err

    # With the store alone (no config file), the sync must have run against that store.
    result = runner.invoke(app, ["--db", db_url, *command, "--sync", "shop-customers"])
    assert result.exit_code == 1 and "has run against this store" in result.stderr
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    result = runner.invoke(app, ["--db", db_url, *command, "--sync", "shop-customers"])
    assert result.exit_code == 0, result.output


def test_trace_tells_a_records_story(db_url: str, config: Path, store: Store, shop: Engine) -> None:
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    ada = store.find_record("contacts", "email", "ada@x.io")
    store.update_record("contacts", ada.id, {"firstname": "Ada K."}, UI)
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0

    code, out, _ = _syncd(
        db_url, config, "--json", "trace", "contacts", str(ada.id), "--property", "firstname"
    )
    assert code == 0
    events = json.loads(out)
    kinds = [(e["event"], e["by"]) for e in events]
    assert ("value", "INTEGRATION shop-customers") in kinds  # created by the sync
    assert ("value", "CRM_UI test-user") in kinds  # edited by a person
    assert ("outbound updated", "shop-customers") in kinds  # carried out
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    code, _, err = _syncd(db_url, config, "trace", "contacts", "999999")
    assert code == 1 and "no contacts record 999999" in err


def test_errors_group_refusals_naming_their_records_by_cause(
    db_url: str, config: Path, store: Store, shop: Engine
) -> None:
    failures = {
        f"{n}": f"email c{n}@x.io is already used by contact {100 + n}" for n in range(1, 135)
    }
    store.sync_write("shop-customers", lambda tx: tx.inbound_failed(failures))
    store.sync_write(
        "shop-customers", lambda tx: tx.inbound_failed({"900": "HTTP 409 from shop: row 900"})
    )

    code, out, _ = _syncd(db_url, config, "--json", "errors")
    assert code == 0
    groups = json.loads(out)
    assert [(g["count"], g["direction"]) for g in groups] == [(134, "inbound"), (1, "inbound")]
    assert groups[0]["cause"] == "email <email> is already used by contact <n>"
    assert groups[0]["example_message"] in failures.values()
    assert groups[1]["cause"] == "HTTP 409 from shop: row <n>"
    code, out, _ = _syncd(db_url, config, "errors")
    assert code == 0 and "134" in out and "already used by contact" in out


def test_trace_names_the_operator_as_the_writer_of_a_resolution(
    db_url: str, config: Path, store: Store, shop: Engine
) -> None:
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    ada = store.find_record("contacts", "email", "ada@x.io")
    store.update_record("contacts", ada.id, {"firstname": "CRM"}, UI)
    with shop.begin() as conn:
        conn.execute(update(customers).values(first_name="Shop", updated_at=_now()))
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    (held,) = json.loads(_syncd(db_url, config, "--json", "conflicts", "list", "--open")[1])
    code, out, _ = _syncd(
        db_url, config, "conflicts", "resolve", str(held["id"]), "--value", "Decided"
    )
    assert code == 0, out

    code, out, _ = _syncd(
        db_url, config, "--json", "trace", "contacts", str(ada.id), "--property", "firstname"
    )
    assert code == 0
    events = json.loads(out)
    writers = [e["by"] for e in events if e["event"] == "value" and "'Decided'" in e["detail"]]
    assert writers == ["CRM_UI cli"]
    assert any(e["event"] == "conflict resolved" and "Decided" in e["detail"] for e in events)
    # The conflict itself was held for the operator; no side "won" it (it said "None won").
    (held_row,) = [e["detail"] for e in events if e["event"] == "conflict"]
    assert "held for an operator" in held_row and "None" not in held_row, held_row
    # The decision still reaches the shop with the next pass.
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    with shop.connect() as conn:
        assert conn.execute(select(customers.c.first_name)).scalar_one() == "Decided"


def test_a_held_conflict_is_logged_once_while_passes_see_it_again(
    db_url: str, config: Path, store: Store, shop: Engine
) -> None:
    # A long lookback: every pass reads the shop row again while the conflict is held.
    config.write_text(config.read_text().replace("lookback_seconds: 1", "lookback_seconds: 3600"))
    assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    ada = store.find_record("contacts", "email", "ada@x.io")
    store.update_record("contacts", ada.id, {"firstname": "CRM"}, UI)
    with shop.begin() as conn:
        conn.execute(update(customers).values(first_name="Shop", updated_at=_now()))
    for _ in range(3):
        assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0

    def conflict_rows() -> list[dict[str, object]]:
        code, out, _ = _syncd(db_url, config, "--json", "logs", "--action", "conflict")
        assert code == 0
        rows: list[dict[str, object]] = json.loads(out)
        return rows

    assert len(conflict_rows()) == 1
    assert len(json.loads(_syncd(db_url, config, "--json", "conflicts", "list", "--open")[1])) == 1
    # New values on one side: the conflict changed, so it is logged (once) again.
    with shop.begin() as conn:
        conn.execute(update(customers).values(first_name="Shop 2", updated_at=_now()))
    for _ in range(2):
        assert _syncd(db_url, config, "sync", "shop-customers")[0] == 0
    assert len(conflict_rows()) == 2
