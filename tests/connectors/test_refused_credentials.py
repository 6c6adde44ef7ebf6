"""Refused credentials pause the sync, for every connector type, on its real peer.

Before, only REST and HubSpot raised ``AuthError``: a CardDAV server answering 401 or a
database refusing the password failed the pass, and the daemon asked again every tick
(which can lock the account). Now every connector says "refused" the same way, so a pass
pauses the sync with the reason, the next pass does not run (``SyncPaused``), and the
daemon's check before a pass pauses it too instead of marking it failed again and again.
The store runs on SQLite and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from config.load import load_config
from connectors.base import WriteRequest
from connectors.errors import AuthError
from store import Store
from syncd.daemon import Daemon, DaemonOptions
from syncd.engine import SyncPaused, build_connector, build_spec, run_sync
from tests.connectors.carddav.conftest import PASSWORD, USER, Radicale, radicale
from tests.connectors.conftest import MARIADB_DEFAULT, MARIADB_ENV, POSTGRES_ENV
from tests.connectors.rest.conftest import _running_api
from tests.connectors.rest.conftest import api as rest_api
from tests.connectors.rest.server import Server
from tests.connectors.test_check_connect import HUBSPOT, REST, remote_hubspot

__all__ = ["_running_api", "radicale", "remote_hubspot", "rest_api"]  # fixtures, from their homes

SYNC = """
syncs:
  people:
    connector: peer
    external_object: %(object)s
    crm_object: contacts
    match: {crm: email, external: email}
    fields:
      - {crm: email, external: email}
"""

CARDDAV = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: carddav
    url: "%(url)s"
    username: %(user)s
    password: "${PEER_SECRET}"
    retry: {attempts: 2, max_wait_seconds: 1}
    objects:
      contacts: {}
"""

SQL = """
store: {url: "sqlite:///unused.db"}
connectors:
  peer:
    type: sql
    url: "%(url)s"
    objects:
      customers: {table: customers}
"""


def _config(tmp_path: Path, connector: str, external_object: str) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(connector + SYNC % {"object": external_object})
    return path


def _assert_pauses(
    monkeypatch: pytest.MonkeyPatch, db_url: str, path: Path, secret: str, *words: str
) -> None:
    """A pass pauses the sync naming the refusal; the next does not run; the daemon's check
    pauses it too (from a fresh state) and leaves no failed run behind."""
    config = load_config(path, env={"PEER_SECRET": secret})
    spec = build_spec(config, config.syncs["people"])
    connector = build_connector(config, "peer")
    try:
        with Store.open(db_url, migrate=False) as store:
            summary = run_sync(spec, connector, store)
            reason = summary.paused_reason or ""
            assert "refused the credentials" in reason, summary.line()
            assert all(word in reason for word in words), reason
            assert secret not in reason
            state = store.sync_state("people")
            assert state.paused and state.paused_reason == reason
            assert [r.status for r in store.list_sync_runs("people")] == ["paused"]
            with pytest.raises(SyncPaused, match="refused the credentials"):
                run_sync(spec, connector, store)
            store.set_sync_paused("people", False, None)  # what `syncd resume` does
    finally:
        connector.close()

    monkeypatch.setenv("PEER_SECRET", secret)
    daemon = Daemon(path, db_url=db_url, options=DaemonOptions(http=False, run_at_start=False))
    daemon.start()
    try:
        for _ in range(3):  # ticks: the check pauses it once, then nothing runs
            assert daemon.run_pass("people") is None
    finally:
        daemon.stop()
    with Store.open(db_url, migrate=False) as store:
        state = store.sync_state("people")
        assert state.paused and "refused the credentials" in (state.paused_reason or "")
        assert "failed" not in [r.status for r in store.list_sync_runs("people")]


def test_rest_wrong_token_pauses(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, rest_api: Server
) -> None:
    path = _config(
        tmp_path, REST % {"url": rest_api.url, "path": "/api/cursor/customers"}, "customers"
    )
    _assert_pauses(monkeypatch, db_url, path, "not-the-token", "answered 401")


def test_hubspot_wrong_token_pauses(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, remote_hubspot: tuple[str, str]
) -> None:
    url, _ = remote_hubspot
    connector = HUBSPOT % {"url": url, "type": "contacts"}
    # The HUBSPOT connector names its object "people"; the sync reads that object.
    path = tmp_path / "syncd.yaml"
    path.write_text(connector + SYNC % {"object": "people"})
    _assert_pauses(monkeypatch, db_url, path, "pat-wrong-token", "401")


def test_carddav_wrong_password_pauses(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, radicale: Radicale
) -> None:
    book = radicale.new_book()
    path = _config(tmp_path, CARDDAV % {"url": book, "user": USER}, "contacts")
    _assert_pauses(monkeypatch, db_url, path, "wrong-" + PASSWORD, "(401)")


def test_carddav_refused_write_or_delete_raises_auth_error(
    tmp_path: Path, radicale: Radicale
) -> None:
    """A 401 on one card's PUT or DELETE is every card's problem: the call raises (and the
    engine pauses the sync), where it used to be that card's failure, again every pass."""
    book = radicale.new_book()
    path = _config(tmp_path, CARDDAV % {"url": book, "user": USER}, "contacts")
    config = load_config(path, env={"PEER_SECRET": "wrong-" + PASSWORD})
    connector = build_connector(config, "peer")
    try:
        with pytest.raises(AuthError, match=r"\(401\)"):
            connector.write("contacts", [WriteRequest("k1", None, {"fn": "Ada"})])
        with pytest.raises(AuthError, match=r"\(401\)"):
            connector.delete("contacts", [urlsplit(book).path + "x.vcf"])
    finally:
        connector.close()


def _refused_sql_url(backend: str) -> str:
    if backend == "mariadb":
        url = make_url(os.environ.get(MARIADB_ENV, MARIADB_DEFAULT))
        # A password the server does not hold for this user: MariaDB answers 1045.
        return url.set(password="not-the-password").render_as_string(hide_password=False)
    pg = os.environ.get(POSTGRES_ENV)
    if not pg:
        pytest.skip(f"PostgreSQL not configured ({POSTGRES_ENV})")
    # The test server trusts 127.0.0.1, so any password passes; a user it does not know is
    # the refusal it can give (28000, "role ... does not exist"), read the same way.
    return (
        make_url(pg)
        .set(username="syncd_no_such_user", password="not-the-password")
        .render_as_string(hide_password=False)
    )


@pytest.fixture(params=["postgresql", "mariadb"])
def refused_sql_url(request: pytest.FixtureRequest, _mariadb_url: str | None) -> Iterator[str]:
    if request.param == "mariadb" and _mariadb_url is None:
        pytest.skip("MariaDB not reachable")
    yield _refused_sql_url(request.param)


def test_sql_refused_database_credentials_pause(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, refused_sql_url: str
) -> None:
    path = _config(tmp_path, SQL % {"url": refused_sql_url}, "customers")
    _assert_pauses(
        monkeypatch, db_url, path, "not-the-password", "the database refused the credentials"
    )
