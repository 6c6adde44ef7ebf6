"""SIGKILL between the external write of new records and its commit, with no match key.

Contacts without an email have nothing to be matched by. The daemon is paused by the fault
hook right after the shop committed the rows its creates made, and killed there: the CRM
knows nothing of them. The restarted daemon must find those rows (by the values the creates
wrote) instead of importing them as new contacts and creating them in the shop again. It
used to end with 6 contacts and 6 rows for 3 people, and quiet passes after.

The shop is a real SQL database (SQLite, PostgreSQL, MariaDB), the CRM store SQLite and
PostgreSQL, the daemon a real process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from store import ChangeSource, SourceType, Store
from tests.connectors.conftest import SqlDatabase, _mariadb_url, sql_db  # noqa: F401
from tests.daemon._harness import DaemonProcess, Shop, crm_contacts, links, sync_yaml, write_config

UI = ChangeSource(SourceType.CRM_UI, "daemon-test")
PEOPLE = [("Ann", "Nomail"), ("Bo", "Nomail"), ("Cy", "Nomail")]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_store_url" if request.param == "sqlite" else "pg_store_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def shop(sql_db: SqlDatabase) -> Shop:  # noqa: F811
    made = Shop.create(sql_db.engine, sql_db.name("customers"))
    sql_db.metadata = made.table.metadata  # dropped with the test
    return made


def test_creates_without_a_match_key_killed_before_their_commit_are_not_made_twice(
    tmp_path: Path,
    store_url: str,
    sql_db: SqlDatabase,  # noqa: F811
    shop: Shop,
    daemons: Callable[..., DaemonProcess],
) -> None:
    table = shop.table.name
    with Store.open(store_url) as store:
        store.create_records(
            "contacts", [{"firstname": f, "lastname": last} for f, last in PEOPLE], UI
        )
    config = write_config(
        tmp_path / "syncd.yaml",
        store_url=store_url,
        shop_url=sql_db.url,
        tables=[table],
        syncs=[sync_yaml("customers", table, every=0.5, batch_size=50)],
    )
    daemon = daemons(config, "solo")

    daemon.start(SYNCD_FAULT="outbound_write:1")
    daemon.wait_marker()
    daemon.kill()
    # The shop committed the three rows; the CRM never recorded that it made them.
    assert len(shop.rows()) == 3
    with Store.open(store_url) as store:
        assert store.count_links("customers") == 0

    daemon.start()
    daemon.wait_started()
    daemon.wait_quiet(["customers"])
    code, _ = daemon.terminate()
    assert code == 0, daemon.stderr()[-3000:]

    rows = shop.rows()
    with Store.open(store_url) as store:
        contacts = crm_contacts(store)
        found = links(store, "customers")
        parked = store.outbox("customers", parked=True)
    names = sorted((r["first_name"], r["last_name"]) for r in rows)
    assert names == sorted(PEOPLE), f"the shop holds {names}"
    assert sorted((c["firstname"], c["lastname"]) for c in contacts) == sorted(PEOPLE)
    assert len(found) == 3
    assert {link.external_id for link in found} == {str(r["id"]) for r in rows}
    assert {link.crm_id for link in found} == {c["id"] for c in contacts}
    assert parked == []
    recovered = [e for e in daemon.all_events() if e.get("outbound.recovered")]
    assert recovered, "the restart did not say it found the rows"
