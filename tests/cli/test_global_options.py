"""``--json``, ``--config`` and ``--db`` typed after the subcommand, as people type them
(issue 18.6): accepted everywhere, with the same effect as before it. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert
from typer.testing import CliRunner

from store import Store
from syncd.cli import app
from tests.cli.test_sync_cli import CONFIG, UI, _now, customers, meta

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    engine: Engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(customers).values(email="ada@x.io", first_name="Ada", updated_at=_now())
        )
    engine.dispose()
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(shop=tmp_path / "shop.db"))
    yield path


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "order",
    [
        ("--db", "{db}", "--json", "records", "get", "contacts", "{id}"),
        ("records", "get", "contacts", "{id}", "--json", "--db", "{db}"),
        ("records", "get", "contacts", "{id}", "--db={db}", "--json"),
        ("--json", "records", "get", "contacts", "--db", "{db}", "{id}"),
        ("records", "--db", "{db}", "--json", "get", "contacts", "{id}"),
    ],
    ids=["before", "after", "equals-form", "between", "inside-the-command"],
)
def test_records_get_takes_global_options_anywhere(
    db_url: str, store: Store, order: tuple[str, ...]
) -> None:
    made = store.create_record("contacts", {"email": "ann@example.com"}, UI)
    args = [a.format(db=db_url, id=made.id) for a in order]
    code, out, err = _run(*args)
    assert code == 0, err
    assert json.loads(out)["properties"]["email"] == "ann@example.com"


def test_sync_and_status_take_config_and_json_after_the_command(
    db_url: str, config: Path, store: Store
) -> None:
    code, out, err = _run(
        "sync", "shop-customers", "--config", str(config), "--db", db_url, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["inbound.created"] == 1
    assert store.find_record("contacts", "email", "ada@x.io").properties["firstname"] == "Ada"
    code, out, err = _run("status", "--config", str(config), "--db", db_url, "--json")
    assert code == 0, err
    assert [s["name"] for s in json.loads(out)["syncs"]] == ["shop-customers"]


def test_run_takes_config_after_the_command(tmp_path: Path) -> None:
    # The option is the global one, checked as such (a missing file), not "No such option".
    code, _out, err = _run("run", "--config", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "No such option" not in err and "missing.yaml" in err


def test_a_commands_own_option_of_that_name_stays_its_own(db_url: str, tmp_path: Path) -> None:
    # ``check --config`` is check's own option: a missing file is check's refusal, not click's.
    missing = tmp_path / "missing.yaml"
    code, out, err = _run("--db", db_url, "check", "--config", str(missing))
    assert code == 1 and "missing.yaml" in out + err
    # A write takes them after the command too.
    code, out, err = _run("records", "create", "contacts", "--set", "email=z@x.io", "--json",
                          "--db", db_url)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["properties"]["email"] == "z@x.io"
