"""``syncd check`` end to end: located problems, the summary line, exit codes, --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from config.loader import YamlDocument
from config.secrets import plain_secret_warnings
from syncd.cli import app
from tests.config._fakes import register_fake

FIXTURES = Path(__file__).parent.parent / "fixtures" / "config"
runner = CliRunner()
LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<key>[^:]+): (?P<msg>.+)$")


@pytest.fixture(autouse=True)
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    register_fake(monkeypatch)


def test_ten_mistakes_are_ten_located_errors(db_url: str) -> None:
    path = FIXTURES / "ten_mistakes.yaml"
    result = runner.invoke(app, ["--db", db_url, "check", "--config", str(path)])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[-1] == "10 problems"
    found = [LOCATED.match(line) for line in lines[:-1]]
    assert len(found) == 10 and all(found), lines
    source = path.read_text().splitlines()
    numbers = []
    for match in found:
        assert match is not None
        assert match["file"] == str(path)
        line, col = int(match["line"]), int(match["col"])
        # Every mistake is on a line marked with its number in the fixture.
        number = re.search(r"# (\d+)\.", source[line - 1])
        assert number is not None, match.string
        numbers.append(int(number[1]))
        assert col <= len(source[line - 1])
    assert sorted(numbers) == list(range(1, 11))
    assert "Traceback" not in result.output
    suggestions = re.findall(r"did you mean '([^']+)'", result.stdout)
    assert {"firstname", "customer", "shop", "contacts", "direction", "email"} <= set(suggestions)


def test_good_config_is_ok(db_url: str) -> None:
    result = runner.invoke(
        app,
        ["--db", db_url, "check", "--config", str(FIXTURES / "good.yaml")],
        env={"ERP_PASSWORD": "x"},
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.strip() == "config OK: 2 syncs, 1 connectors"


def test_json_lists_problem_objects(db_url: str) -> None:
    path = FIXTURES / "ten_mistakes.yaml"
    result = runner.invoke(app, ["--db", db_url, "--json", "check", "--config", str(path)])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert len(problems) == 10
    assert set(problems[0]) == {"file", "line", "column", "key", "message", "suggestion"}


def test_global_config_option(db_url: str) -> None:
    path = FIXTURES / "ten_mistakes.yaml"
    result = runner.invoke(app, ["--db", db_url, "--config", str(path), "check"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "10 problems"


def test_missing_file_is_one_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["check", "--config", str(missing)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{missing}: (top level): cannot read it: No such file or directory",
        "1 problem",
    ]


def test_yaml_syntax_error_is_one_located_error(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text("syncs:\n  a: [unclosed\n")
    result = runner.invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == "1 problem"
    assert LOCATED.match(lines[0]) and "invalid YAML" in lines[0]


PLAIN_SECRETS = """\
connectors:
  shop:
    type: rest
    base_url: https://shop.example.com
    auth: {type: bearer, token: "sk_live_51Habc"}
    webhook: {secret: whsec_plain, signature: stripe}
    objects:
      customers: {path: /customers}
  erp:
    type: fake
    url: "postgresql://erp:hunter2@db/erp"
    objects:
      customers: {table: customers}
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    direction: to_crm
    fields:
      - {crm: email, external: email}
"""


def test_a_plain_text_secret_is_a_located_warning_naming_the_fix(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(PLAIN_SECRETS)
    result = runner.invoke(app, ["--db", db_url, "check", "--config", str(path)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[-1] == "config OK: 1 syncs, 2 connectors (3 warnings)"
    found = {}
    for line in lines[:-1]:
        match = LOCATED.match(line)
        assert match is not None, line
        assert match["file"] == str(path)
        assert match["msg"].startswith("warning: ") and "${VAR}" in match["msg"], line
        found[match["key"]] = int(match["line"])
    assert found == {
        "connectors.shop.auth.token": 5,
        "connectors.shop.webhook.secret": 6,
        "connectors.erp.url": 11,
    }
    # The warning names the field, never the value.
    for secret in ("sk_live_51Habc", "whsec_plain", "hunter2"):
        assert secret not in result.output

    as_json = runner.invoke(app, ["--db", db_url, "--json", "check", "--config", str(path)])
    assert as_json.exit_code == 0
    warnings = json.loads(as_json.stdout)
    assert [w["severity"] for w in warnings] == ["warning"] * 3


@pytest.mark.parametrize(
    ("key", "value", "warned"),
    [
        ("password", "hunter2", True),
        ("api_key", "abc123", True),
        ("client_secret", "abc123", True),
        ("Access-Token", "abc123", True),
        ("password", "${ERP_PASSWORD}", False),
        ("token", "Bearer ${SHOP_TOKEN}", False),
        ("password", "", False),
        ("token_url", "https://auth.example.com/token", False),
        ("token", "$${NOT_A_REFERENCE}", True),
    ],
)
def test_which_values_are_plain_text_secrets(key: str, value: str, warned: bool) -> None:
    text = f"connectors:\n  x:\n    {key}: {json.dumps(value)}\n"
    document = YamlDocument(Path("s.yaml"), yaml.safe_load(text), yaml.compose(text))
    found = plain_secret_warnings(document)
    assert bool(found) == warned, found
    if warned:
        assert found[0].line == 3 and found[0].key == f"connectors.x.{key}"


@pytest.mark.parametrize(
    ("text", "key", "example"),
    [
        # The rest connector's api_key auth keeps its secret under "value".
        (
            'connectors:\n  shop:\n    auth: {type: api_key, name: X-Key, value: "k-123"}\n',
            "connectors.shop.auth.value",
            "${SHOP_API_KEY}",
        ),
        (
            'connectors:\n  shop:\n    headers: {Authorization: "Bearer k-123"}\n',
            "connectors.shop.headers.Authorization",
            "${SHOP_AUTHORIZATION}",
        ),
        (
            'connectors:\n  dav:\n    password: "p-123"\n',
            "connectors.dav.password",
            "${DAV_PASSWORD}",
        ),
        (
            'store: {url: "postgresql://u:p-123@db/crm"}\n',
            "store.url",
            "${STORE_PASSWORD}",
        ),
    ],
)
def test_a_plain_text_secret_is_found_wherever_a_connector_keeps_it(
    text: str, key: str, example: str
) -> None:
    """Seen from the CLI: an api_key auth value passed `syncd check` silently, and every
    warning suggested "${SHOP_TOKEN}", also for a CardDAV password or the store's URL."""
    document = YamlDocument(Path("s.yaml"), yaml.safe_load(text), yaml.compose(text))
    (found,) = plain_secret_warnings(document)
    assert found.key == key
    assert example in found.message and "k-123" not in found.message
