"""What ``syncd check`` warns about: configurations that work, with a risk worth knowing.

A warning never stops ``syncd check``'s exit code or the daemon; it names the risk and the
option that removes it.
"""

from __future__ import annotations

from config.check import _Report
from config.models import Config
from config.problems import ConfigProblem

__all__ = ["check_warnings"]


def check_warnings(config: Config) -> list[ConfigProblem]:
    """Every warning for ``config``, located like a problem, its message prefixed so."""
    report = _Report(config)
    for name, sync in config.syncs.items():
        connector = config.connectors.get(sync.connector)
        if connector is None or not sync.direction.to_external:
            continue
        match = sync.match.external if sync.match is not None else None
        risk = connector.options.lost_create_risk(sync.external_object, match)
        if risk is not None:
            report.add(
                ("syncs", name, "external_object"),
                f"warning: connector {sync.connector}: {risk}",
            )
    return report.problems
