"""``syncd check`` warns where a lost create answer could only be settled by an operator.

A two-way REST object with no way to find a record again (no ``find_param`` for the match
field, no ``create_key_field``, no ``idempotency_header``) cannot tell whether a create
whose answer was lost happened; the check says so, names the options, and still passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.cli import app

runner = CliRunner()

CONFIG = """store: {{url: "sqlite:///unused.db"}}
connectors:
  shop:
    type: rest
    base_url: https://shop.example.com/api
    objects:
      customers: {{path: /customers{extra}}}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    direction: {direction}
    match: {{crm: email, external: email}}
    fields:
      - {{crm: email, external: email}}
"""


def check(db_url: str, tmp_path: Path, extra: str, direction: str, *flags: str) -> tuple[int, str]:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(extra=extra, direction=direction))
    result = runner.invoke(app, ["--db", db_url, *flags, "check", "--config", str(path)])
    return result.exit_code, result.stdout


def test_a_two_way_object_without_a_lookup_is_warned_about_with_the_fix(
    db_url: str, tmp_path: Path
) -> None:
    code, out = check(db_url, tmp_path, "", "two-way")

    assert code == 0, out
    (warning,) = [line for line in out.splitlines() if "warning:" in line]
    assert "syncs.shop-customers.external_object" in warning
    assert "find_param: email" in warning and "create_key_field" in warning
    assert "idempotency_header" in warning
    assert out.splitlines()[-1] == "config OK: 1 syncs, 1 connectors (1 warning)"


@pytest.mark.parametrize(
    ("extra", "direction"),
    [
        (", find_param: email", "two-way"),
        (", create_key_field: syncd_id", "two-way"),
        (", idempotency_header: Idempotency-Key", "to_external"),
        ("", "to_crm"),  # nothing is ever created outside
    ],
)
def test_no_warning_where_a_lost_create_can_be_found_again(
    db_url: str, tmp_path: Path, extra: str, direction: str
) -> None:
    code, out = check(db_url, tmp_path, extra, direction)
    assert code == 0, out
    assert "warning" not in out


def test_json_marks_warnings(db_url: str, tmp_path: Path) -> None:
    code, out = check(db_url, tmp_path, "", "two-way", "--json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["severity"] == "warning"


SQL = """store: {{url: "sqlite:///unused.db"}}
connectors:
  erp:
    type: sql
    url: "sqlite:///erp.db"
    objects:
      customers: {{table: customers{extra}}}
syncs:
  erp-customers:
    connector: erp
    external_object: customers
    crm_object: contacts
{match}    fields:
      - {{crm: firstname, external: first_name}}
"""


@pytest.mark.parametrize(
    ("extra", "match", "warned"),
    [
        ("", "", True),
        (", create_key_field: syncd_id", "", False),
        ("", "    match: {crm: email, external: email}\n", False),
    ],
    ids=["no-key", "create_key_field", "match"],
)
def test_a_sql_sync_without_a_match_key_is_warned_about(
    db_url: str, tmp_path: Path, extra: str, match: str, warned: bool
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(SQL.format(extra=extra, match=match))
    result = runner.invoke(app, ["--db", db_url, "check", "--config", str(path)])
    assert result.exit_code == 0, result.stdout
    warnings = [line for line in result.stdout.splitlines() if "warning:" in line]
    if warned:
        (line,) = warnings
        assert "create_key_field" in line and "match:" in line
    else:
        assert warnings == []
