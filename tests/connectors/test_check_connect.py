"""``syncd check --connect`` and ``syncd run`` at start ask each connector whether it can do
its syncs' work, against real peers (issue 13, defect 13).

Before, ``check_object`` was never called: a closed port, a wrong token, a CardDAV URL that
is not an address book and a missing table all gave ``config OK``, and the sync then said
"nothing to do". Each case here must name what is wrong, on the sync's line.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, String, Table
from typer.testing import CliRunner

from store import Store
from syncd.api import ApiSettings, create_api
from syncd.cli import app
from syncd.daemon import Daemon, DaemonOptions
from tests._live import LiveServers
from tests.api.conftest import make_token
from tests.connectors.carddav.conftest import PASSWORD, USER, Radicale, radicale
from tests.connectors.conftest import SqlDatabase
from tests.connectors.rest.conftest import _running_api
from tests.connectors.rest.conftest import api as rest_api
from tests.connectors.rest.server import TOKEN, Server

__all__ = ["_running_api", "radicale", "rest_api"]  # fixtures used here, from their homes

runner = CliRunner()

SYNC = """
syncs:
  people:
    connector: peer
    external_object: %(object)s
    crm_object: contacts
    match: {crm: email, external: %(email)s}
    fields:
      - {crm: email, external: %(email)s}
"""

REST = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: rest
    base_url: "%(url)s"
    auth: {type: bearer, token: "${PEER_SECRET}"}
    retry: {attempts: 3, max_wait_seconds: 1}
    objects:
      customers:
        path: %(path)s
        records_path: data
        paging: {type: cursor, param: cursor, next_path: meta.next, limit_param: limit}
        create: {method: POST, path: /api/customers}
        update: {method: PATCH, path: "/api/customers/{id}"}
        find_param: email
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens once the socket is closed


def _write(
    tmp_path: Path, connector: str, external_object: str, email: str = "email", secret: str = ""
) -> Path:
    """The YAML, with its secret in ``${PEER_SECRET}`` (a file beside it holds the value)."""
    path = tmp_path / "syncd.yaml"
    path.write_text(connector + SYNC % {"object": external_object, "email": email})
    (tmp_path / "secret").write_text(secret)
    return path


def _check(db_url: str, path: Path, *extra: str) -> tuple[int, list[str]]:
    secret = (path.parent / "secret").read_text()
    result = runner.invoke(
        app,
        ["--db", db_url, "check", "--config", str(path), *extra],
        env={"PEER_SECRET": secret},
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()


def _rest(
    tmp_path: Path, url: str, token: str = TOKEN, path: str = "/api/cursor/customers"
) -> Path:
    return _write(tmp_path, REST % {"url": url, "path": path}, "customers", secret=token)


def _one_problem(db_url: str, path: Path) -> str:
    code, lines = _check(db_url, path, "--connect")
    assert code == 1, lines
    assert lines[-1] == "1 problem", lines
    line = lines[0]
    assert f"{path}:" in line and "syncs.people.external_object: sync people cannot run" in line
    return line


def test_a_reachable_api_that_takes_the_token_is_ok(
    db_url: str, tmp_path: Path, rest_api: Server
) -> None:
    code, lines = _check(db_url, _rest(tmp_path, rest_api.url), "--connect")
    assert code == 0, lines
    assert lines == ["config OK: 1 syncs, 1 connectors, connections OK"]


def test_a_closed_port_is_named_and_only_check_connect_contacts_it(
    db_url: str, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    path = _rest(tmp_path, url)
    assert _check(db_url, path) == (0, ["config OK: 1 syncs, 1 connectors"])

    line = _one_problem(db_url, path)
    assert f"cannot reach {url}" in line and "ConnectError" in line


def test_a_wrong_token_is_named(db_url: str, tmp_path: Path, rest_api: Server) -> None:
    line = _one_problem(db_url, _rest(tmp_path, rest_api.url, token="not-the-token"))
    assert "answered 401" in line and "refused the credentials" in line
    assert "not-the-token" not in line


def test_an_object_endpoint_that_does_not_exist_is_named(
    db_url: str, tmp_path: Path, rest_api: Server
) -> None:
    line = _one_problem(db_url, _rest(tmp_path, rest_api.url, path="/api/custmers"))
    assert "answered 404" in line and "no such endpoint" in line


def test_a_carddav_url_that_is_not_an_address_book_is_named(
    db_url: str, tmp_path: Path, radicale: Radicale
) -> None:
    book = radicale.new_book()
    connector = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: carddav
    url: "%(url)s"
    username: %(user)s
    password: "${PEER_SECRET}"
    objects:
      contacts: {}
"""
    good = _write(tmp_path, connector % {"url": book, "user": USER}, "contacts", "email", PASSWORD)
    assert _check(db_url, good, "--connect")[0] == 0
    home = f"{radicale.base}/{USER}/"  # the user's home: a collection of books, not a book
    path = _write(tmp_path, connector % {"url": home, "user": USER}, "contacts", "email", PASSWORD)
    line = _one_problem(db_url, path)
    assert f"{home} is not an address book" in line


def test_a_missing_table_is_named(db_url: str, tmp_path: Path, sql_db: SqlDatabase) -> None:
    name = sql_db.name("customers")
    sql_db.create(
        Table(
            name,
            sql_db.metadata,
            Column("id", Integer, primary_key=True),
            Column("email", String(200)),
            Column("updated_at", DateTime),
        )
    )
    connector = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: sql
    url: "%(url)s"
    objects:
      customers: {table: %(table)s}
"""
    good = _write(tmp_path, connector % {"url": sql_db.url, "table": name}, "customers")
    assert _check(db_url, good, "--connect")[0] == 0
    path = _write(tmp_path, connector % {"url": sql_db.url, "table": "no_such_table"}, "customers")
    line = _one_problem(db_url, path)
    assert "table 'no_such_table' not found" in line


@pytest.fixture
def remote_hubspot(tmp_path: Path, live_servers: LiveServers) -> Iterator[tuple[str, str]]:
    """syncd's own HubSpot-compatible API over a second store: the "remote HubSpot"."""
    remote = Store.open(f"sqlite:///{tmp_path / 'remote.db'}")
    url = live_servers.mount(create_api(remote, ApiSettings(rate_limit_max=10_000)))
    try:
        yield url, make_token(remote)
    finally:
        live_servers.unmount(url)
        remote.close()


HUBSPOT = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: hubspot
    base_url: "%(url)s"
    access_token: "${PEER_SECRET}"
    retry: {attempts: 3, max_wait_seconds: 1}
    objects:
      people: {object_type: %(type)s, properties: [email]}
"""


def test_hubspot_wrong_token_and_missing_object_are_named(
    db_url: str, tmp_path: Path, remote_hubspot: tuple[str, str]
) -> None:
    url, token = remote_hubspot
    good = _write(tmp_path, HUBSPOT % {"url": url, "type": "contacts"}, "people", secret=token)
    assert _check(db_url, good, "--connect")[0] == 0

    wrong = _write(
        tmp_path, HUBSPOT % {"url": url, "type": "contacts"}, "people", secret="pat-wrong"
    )
    line = _one_problem(db_url, wrong)
    assert "HubSpot refused the access token" in line and "401" in line

    missing = _write(tmp_path, HUBSPOT % {"url": url, "type": "2-999"}, "people", secret=token)
    line = _one_problem(db_url, missing)
    assert "HubSpot has no object type '2-999'" in line


def test_syncd_run_marks_a_sync_that_cannot_connect_failing_with_the_reason(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEER_SECRET", TOKEN)
    url = f"http://127.0.0.1:{_closed_port()}"
    path = _rest(tmp_path, url)
    daemon = Daemon(path, db_url=db_url, options=DaemonOptions(http=False, run_at_start=False))
    daemon.start()
    try:
        assert daemon.run_pass("people") is None  # it waits for the problem to go
    finally:
        daemon.stop()
    with Store.open(db_url, migrate=False) as store:
        runs = store.list_sync_runs("people")
    assert [r.status for r in runs] == ["failed"]
    error = str((runs[0].summary or {}).get("error"))
    assert error.startswith("cannot run: ") and f"cannot reach {url}" in error
