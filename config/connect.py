"""Whether each sync's connector can really do the configured work: the check that talks.

``check_config`` reads only the YAML and the store; a closed port, a wrong token, a URL that
is not an address book or a missing table pass it and the sync then reports "nothing to do".
``check_connections`` asks every connector, once per external object its syncs use, through
``Connector.check_object`` (each connector says what "can do the work" means: reachable,
credentials accepted, the object there). ``syncd check --connect`` prints the problems and
``syncd run`` asks at start; each problem names the sync, the connector and the reason and
points at the sync's ``external_object`` line.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.loader import format_key_path
from config.models import Config
from config.problems import ConfigProblem
from connectors.base import Connector, ConnectorError

__all__ = ["check_connections", "connection_problem"]


def connection_problem(connector: Connector, external_object: str) -> str | None:
    """What stops ``connector`` from working with ``external_object`` now, or None.

    A connector that raises instead of answering (an unreachable database) is a problem
    with that reason too: the check itself never fails on it.
    """
    try:
        return connector.check_object(external_object)
    except ConnectorError as exc:
        return str(exc)


def check_connections(
    config: Config, connectors: Mapping[str, Connector], *, syncs: list[str] | None = None
) -> list[ConfigProblem]:
    """One problem per sync whose connector cannot do its work (all syncs, or ``syncs``)."""
    asked: dict[tuple[str, str], str | None] = {}
    problems: list[ConfigProblem] = []
    document = config._document
    for name in sorted(syncs if syncs is not None else config.syncs):
        sync = config.syncs[name]
        connector = connectors.get(sync.connector)
        if connector is None:
            continue  # an unknown connector is check_static's problem
        key = (sync.connector, sync.external_object)
        if key not in asked:
            asked[key] = connection_problem(connector, sync.external_object)
        problem = asked[key]
        if problem is None:
            continue
        path: tuple[str | int, ...] = ("syncs", name, "external_object")
        line, column = document.locate(path) if document is not None else (None, None)
        problems.append(
            ConfigProblem(
                file=str(config.path or "(config)"),
                line=line,
                column=column,
                key=format_key_path(path),
                message=f"sync {name} cannot run: {problem}",
            )
        )
    return problems
