"""The store's one face: code outside ``store/`` reaches it only through its public modules.

Everything else in ``store/`` may be moved or renamed without touching a caller; this test is
what keeps that true. It reads the source (no import runs), so a lazy import inside a
function is caught as well as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import store

ROOT = Path(__file__).resolve().parents[2]
CALLERS = ("syncd", "connectors", "config", "mapping", "conflict", "bench")
PUBLIC_MODULES = {"store", "store.errors", "store.models"}


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def store_imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import of ``store`` or a module under it in ``path``."""
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "store" or alias.name.startswith("store."):
                    found.append((node.lineno, alias.name, ()))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "store" or node.module.startswith("store."):
                found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
    return found


def boundary_breaches(paths: list[Path]) -> list[str]:
    """Each import that reaches past the public modules, as ``file:line: what``."""
    public_names = set(store.__all__)
    breaches = []
    for path in paths:
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for line, module, names in store_imports(path):
            if module not in PUBLIC_MODULES:
                breaches.append(f"{where}:{line}: imports {module}")
            elif module == "store":
                hidden = [n for n in names if n not in public_names]
                if hidden:
                    breaches.append(f"{where}:{line}: takes {', '.join(hidden)} from store")
    return breaches


def test_callers_use_only_the_public_store_modules() -> None:
    breaches = boundary_breaches(_python_files(*CALLERS))
    assert not breaches, (
        "outside store/, import from `store`, `store.errors` or `store.models` only "
        "(add the name to store/__init__.py's __all__ if callers need it):\n" + "\n".join(breaches)
    )


@pytest.mark.parametrize(
    ("source", "breach"),
    [
        ("from store.search import FilterGroup\n", "imports store.search"),
        ("import store.sync.tx as tx\n", "imports store.sync.tx"),
        ("def f():\n    from store.db import tables\n", "imports store.db"),
        ("from store import tables\n", "takes tables from store"),
    ],
)
def test_a_reach_past_the_face_is_named(tmp_path: Path, source: str, breach: str) -> None:
    module = tmp_path / "caller.py"
    module.write_text(source, encoding="utf-8")
    (found,) = boundary_breaches([module])
    assert found.endswith(breach)


def test_the_public_modules_pass(tmp_path: Path) -> None:
    module = tmp_path / "caller.py"
    module.write_text(
        "from store import Store\nfrom store.errors import StoreError\nimport store.models\n",
        encoding="utf-8",
    )
    assert boundary_breaches([module]) == []


def test_every_public_name_exists() -> None:
    missing = [name for name in store.__all__ if not hasattr(store, name)]
    assert missing == []
