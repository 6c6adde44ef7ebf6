"""``syncd check`` reports every problem of a file in one run (issue 18.7): a sync broken in
one place (an unknown key, a bad field) still has the rest of it checked against the store,
with each problem at its own line. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.cli import app
from tests.config._fakes import register_fake

runner = CliRunner()

CONFIG = """\
connectors:
  shop:
    type: fake
    url: "postgresql://shop@db/shop"
    objects:
      customers: {table: customers}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    directon: to_crm  # 1.
    batch_size: 0  # 2.
    match: {crm: phone, external: phone}  # 3.
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: first_name, transform: shout}  # 4.
      - {crm: lastnme, external: last_name}  # 5.
      - {crm: lastname, external: surname}
      - {crm: city, external: city, transform: number}  # 6.
  shop-leads:
    connector: shop
    external_object: customers
    crm_object: contacts
    fields:
      - {crm: emial, external: email}  # 7.
"""


@pytest.fixture(autouse=True)
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    register_fake(monkeypatch)


def test_every_problem_of_a_broken_sync_in_one_run(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    result = runner.invoke(app, ["--db", db_url, "--json", "check", "--config", str(path)])
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)
    source = path.read_text().splitlines()
    marked = {}
    for problem in problems:
        number = re.search(r"# (\d+)\.", source[problem["line"] - 1])
        assert number is not None, problem  # each problem is on the line of its mistake
        marked[int(number[1])] = problem["key"]
    assert marked == {
        1: "syncs.shop-customers.directon",
        2: "syncs.shop-customers.batch_size",
        3: "syncs.shop-customers.match.crm",
        4: "syncs.shop-customers.fields[1].transform",
        5: "syncs.shop-customers.fields[2].crm",
        6: "syncs.shop-customers.fields[4].transform",
        7: "syncs.shop-leads.fields[0].crm",
    }
    assert len(problems) == 7


def test_a_broken_sync_is_still_refused_when_loaded(tmp_path: Path) -> None:
    # What check salvages is for reporting only: the daemon never runs half a sync.
    from config import ConfigErrors, load_config

    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigErrors):
        load_config(path)
