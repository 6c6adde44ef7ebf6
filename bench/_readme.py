"""The README's benchmark section is the suite's own output: rewritten between two markers.

Only the text between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` is replaced, so the
rest of the README stays as people wrote it; missing or repeated markers are refused rather
than guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["END", "README", "START", "readme_section", "rewrite_readme"]

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


class MarkerError(RuntimeError):
    """The README does not hold exactly one pair of benchmark markers, in order."""


def readme_section(tables: Sequence[str], command: str, suite: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.1f}" for x in suite.get("load_average_at_start", ()))
    minutes = suite.get("total_seconds", 0) / 60
    head = (
        f"`bench/run.py` runs the eight measurements of the benchmarks issues on "
        f"{' and '.join(suite['databases'])}, each table naming the target it checks and "
        f"whether it is met. Last run: {suite['when']}, {suite['mode']} sizes, "
        f"{minutes:.1f} min on {suite.get('cpus')} cores (load average at start {load}). "
        "Verdicts compare counts and ratios from the same run; the seconds beside them move "
        "with the machine's load."
    )
    body = "\n\n".join(tables)
    tail = (
        f"Reproduce with `{command}` (add `--readme` to rewrite this section). It prints these "
        "tables and writes `bench/results/suite.json` with every count behind them and a note "
        "on how each figure is taken; `--quick` is a smoke run, `--issue-sizes` uses the "
        "issue's sizes, `--set KEY=VALUE` raises one size, `--profile` writes pyinstrument "
        "profiles to `bench/results/profiles/`."
    )
    return f"{head}\n\n```text\n{body}\n```\n\n{tail}\n"


def rewrite_readme(
    tables: Sequence[str], command: str, suite: dict[str, Any], path: Path = README
) -> None:
    text = path.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise MarkerError(f"{path} needs exactly one {START} followed by one {END}")
    before, rest = text.split(START)
    _, after = rest.split(END)
    section = readme_section(tables, command, suite)
    path.write_text(f"{before}{START}\n{section}{END}{after}")
