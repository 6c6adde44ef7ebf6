"""Log lines with an exception: the traceback is there, a frame's locals (secrets) are not."""

from __future__ import annotations

import json

import pytest
import structlog

from syncd.logs import configure_logging


def _fail_holding_a_secret() -> None:
    password = "hunter2-do-not-log"  # noqa: F841 - the local a rich traceback would print
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize("json_lines", [True, False])
def test_an_exception_is_logged_with_its_traceback_and_without_locals(
    json_lines: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=json_lines)
    try:
        _fail_holding_a_secret()
    except ZeroDivisionError as exc:
        structlog.get_logger().error("api.internal_error", exc_info=exc)
    finally:
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "_fail_holding_a_secret" in err
    if json_lines:
        line = json.loads(err.strip().splitlines()[-1])
        assert line["event"] == "api.internal_error"
        assert line["exception"].rstrip().endswith("ZeroDivisionError: division by zero")
