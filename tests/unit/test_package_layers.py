"""Which part of syncd may import which: the map in docs/layout.md, held here.

A unit is a top-level package (``store``, ``connectors``, ``config``, ``mapping``,
``conflict``) or a module or package directly under ``syncd/`` (``syncd.engine``,
``syncd.errors``, ...). An import of ours that the map does not allow fails this test: a
new arrow is a decision, made by changing the map and the README together. Imports inside
functions count (they are arrows too); ``store``'s own inside is held by
``test_store_layout.py`` and its face by ``test_store_boundary.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("syncd", "connectors", "mapping", "conflict", "store", "config")

#: What each unit may import besides itself; a unit not named may import nothing of ours.
ALLOWED: dict[str, frozenset[str]] = {
    # The pure logic: decisions as data, no I/O.
    "mapping": frozenset({"syncd.errors", "syncd.direction"}),
    "conflict": frozenset({"syncd.errors", "syncd.direction"}),
    # The two sides: the record store and the external systems, unaware of each other.
    "store": frozenset({"syncd.errors"}),
    "connectors": frozenset({"syncd.errors"}),
    "config": frozenset(
        {"conflict", "connectors", "mapping", "store", "syncd.direction", "syncd.errors"}
    ),
    "syncd.engine": frozenset(
        {"config", "conflict", "connectors", "mapping", "store", "syncd.errors"}
    ),
    # Read models shared by the CLI and the console.
    "syncd.status": frozenset({"config", "store"}),
    "syncd.parked": frozenset({"store", "syncd.causes"}),
    "syncd.trace": frozenset({"store", "syncd.changes"}),
    "syncd.lease": frozenset({"store", "syncd.daemon", "syncd.errors"}),
    "syncd.metrics": frozenset({"config", "store", "syncd.engine"}),
    # The HTTP faces and the process around them.
    "syncd.api": frozenset({"store", "syncd.errors"}),
    "syncd.console": frozenset(
        {
            "config",
            "store",
            "syncd.changes",
            "syncd.engine",
            "syncd.errors",
            "syncd.lease",
            "syncd.parked",
            "syncd.status",
            "syncd.trace",
        }
    ),
    "syncd.http": frozenset(
        {"config", "connectors", "store", "syncd.api", "syncd.console", "syncd.engine"}
    ),
    "syncd.daemon": frozenset(
        {"config", "connectors", "store", "syncd.engine", "syncd.errors", "syncd.http"}
    ),
    "syncd.demo": frozenset({"config", "store", "syncd.daemon", "syncd.errors", "syncd.status"}),
    # The CLI is the top: it may use every unit but the console's insides.
    "syncd.cli": frozenset(
        {
            "config",
            "connectors",
            "store",
            "syncd.changes",
            "syncd.daemon",
            "syncd.demo",
            "syncd.engine",
            "syncd.errors",
            "syncd.lease",
            "syncd.logs",
            "syncd.parked",
            "syncd.status",
            "syncd.trace",
        }
    ),
    "syncd.__main__": frozenset({"syncd.cli"}),
}


def _unit(module: str) -> str:
    parts = module.split(".")
    return f"syncd.{parts[1]}" if parts[0] == "syncd" and len(parts) > 1 else parts[0]


def _arrows() -> set[tuple[str, str, str]]:
    """Every (unit, imported unit, file) of ours, migrations left out (Alembic's own)."""
    found: set[tuple[str, str, str]] = set()
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            unit = _unit(module)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] in TOPS and name != "syncd":
                        target = _unit(name)
                        if target != unit:
                            found.add((unit, target, str(relative)))
    return found


def test_every_import_of_ours_follows_the_map() -> None:
    stray = sorted(
        f"{file}: {unit} imports {target}"
        for unit, target, file in _arrows()
        if target not in ALLOWED.get(unit, frozenset())
    )
    assert not stray, "imports the layout map does not allow:\n" + "\n".join(stray)


def test_the_map_names_no_unit_that_is_gone() -> None:
    units = {unit for unit, _, _ in _arrows()} | {target for _, target, _ in _arrows()}
    named = set(ALLOWED) | {t for targets in ALLOWED.values() for t in targets}
    assert named <= units, f"the map names units that no longer exist: {sorted(named - units)}"
