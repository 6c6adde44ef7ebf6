"""After ``syncd demo``, the console works as the README says: ``syncd run`` on the demo's
config serves it, and the token the demo printed signs in."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from syncd.cli import app
from syncd.daemon import Daemon, DaemonOptions
from syncd.logs import configure_logging
from tests.console._world import csrf_of

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """``syncd demo`` quiets logging to errors for its narration; later tests read info lines."""
    yield
    configure_logging()


def test_the_demo_leaves_a_console_to_open(tmp_path: Path) -> None:
    shown = runner.invoke(app, ["demo", "--dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "/console/ and sign in with the demo's write token syncd_" in shown.output
    summary = runner.invoke(app, ["--json", "demo", "--dir", str(tmp_path)])
    console = json.loads(summary.stdout)["console"]
    assert console["url"] == "http://127.0.0.1:8080/console/"
    port = _free_port()
    daemon = Daemon(
        tmp_path / "syncd-demo.yaml",
        options=DaemonOptions(listen=f"127.0.0.1:{port}", run_at_start=False),
    )
    daemon.start()
    try:
        daemon.wait_until_serving()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            form = client.get("/console/")
            assert form.status_code == 401
            signed = client.post(
                "/console/sign-in", data={"csrf": csrf_of(form.text), "token": console["token"]}
            )
            assert signed.status_code == 303
            overview = client.get("/console/").text
            settled = client.get("/console/conflicts?state=settled").text
    finally:
        daemon.stop()
    assert "shop-customers" in overview and "shop-companies" in overview
    assert "daemon running" in overview and "demo-operator" in overview
    assert "Hall-Shop" in settled and "Hall-Crm" in settled
