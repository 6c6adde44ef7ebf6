"""The store's modules import one another without a circle, and its packages only downwards.

A circle means neither side can be read, tested or moved alone (CSV import once imported the
facade that imported it back). Imports under ``if TYPE_CHECKING:`` are left out: they name a
type and run nothing. Imports inside functions count: they are a circle put off, not gone.
``ALLOWED`` is the map ``docs/store.md`` draws: which of the store's packages each may import.
"""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "store"

_BASE = {"errors", "models"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "models": set(),
    "values": _BASE,
    "db": _BASE,
    "schema": _BASE | {"values", "db"},
    "records": _BASE | {"values", "db"},
    "inbox": _BASE | {"db"},
    "tokens": _BASE | {"db"},
    "associations": _BASE | {"values", "db", "schema", "records"},
    "search": _BASE | {"values", "db", "records"},
    "activities": _BASE | {"values", "db", "records", "associations"},
    "lists": _BASE | {"db", "records", "search"},
    "csv": _BASE | {"values", "db", "records", "associations"},
    "sync": _BASE | {"values", "db", "records", "associations", "search", "inbox"},
    "overview": _BASE | {"db", "sync"},
    "facade": set(),  # the Store: composes every part, so it may import any package
    "store": set(),  # store/__init__.py: the public face, re-exports from anywhere
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """The store modules ``tree`` imports when it runs (``from a import b``: ``a.b`` if a module)."""
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path = STORE) -> dict[str, set[str]]:
    paths = {
        _module_name(p, root): p
        for p in root.rglob("*.py")
        if "migrations" not in p.relative_to(root).parts
    }
    modules = set(paths)
    return {
        name: _imported(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
        for name, path in paths.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_store_has_no_import_circle() -> None:
    graph = import_graph()
    assert len(graph) > 10, "the store's modules were not found"
    assert circles(graph) == []


def package_of(module: str) -> str:
    """``store.sync.tx`` -> ``sync``; ``store.errors`` -> ``errors``; ``store`` -> ``store``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "store"


def package_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for module, imported in sorted(graph.items()):
        here = package_of(module)
        if here not in ALLOWED:
            breaches.append(f"{module}: package {here} is not on the map (ALLOWED)")
            continue
        if here in ("facade", "store"):
            continue
        for other in sorted(imported):
            there = package_of(other)
            if there != here and there not in ALLOWED[here]:
                breaches.append(f"{module} imports {other}: {here} may not import {there}")
    return breaches


def test_store_packages_import_only_down_the_map() -> None:
    assert package_breaches(import_graph()) == []


def test_only_the_face_imports_the_facade() -> None:
    graph = import_graph()
    importers = sorted(m for m, imported in graph.items() if "store.facade" in imported)
    assert importers == ["store"]


def test_a_package_reaching_up_is_named() -> None:
    graph = {"store.db.tx": {"store.sync.sql"}, "store.sync.sql": {"store.db.tx"}}
    assert package_breaches(graph) == ["store.db.tx imports store.sync.sql: db may not import sync"]


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_an_import_put_off_into_a_function_counts_and_a_type_only_one_does_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from store.b import B\n"
        "def f():\n    from store.c import C\n"
    )
    assert _imported(ast.parse(source), {"store.b", "store.c"}) == {"store.c"}
