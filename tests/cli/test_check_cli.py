"""``syncd check`` end to end: located problems, the summary line, exit codes, --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
