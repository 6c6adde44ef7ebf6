"""Reading YAML files that people write: size-capped, safe, and with errors that point home.

Every problem becomes a ``ConfigError`` that names the file, the key path (``store.url``,
``properties[2].type``) and the line, so an admin can fix the file without guessing. Only
the store URL is read here for now; the full configuration models come later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from syncd.errors import ConfigError

__all__ = [
    "MAX_FILE_BYTES",
    "YamlDocument",
    "expand_env",
    "format_key_path",
    "kind_of",
    "load_store_url",
    "read_yaml",
]

# People write these files by hand; anything bigger is a mistake (or an attack on the parser).
MAX_FILE_BYTES = 1024 * 1024
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

KeyPath = Sequence[str | int]


def format_key_path(path: KeyPath) -> str:
    """``("properties", 2, "type")`` as ``properties[2].type``: how a reader finds the key."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file with its node tree kept, so a key path can be traced to its line."""

    path: Path
    data: object
    root: yaml.Node | None

    def line_of(self, path: KeyPath) -> int | None:
        """The 1-based line of the deepest node along ``path`` that exists in the file."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        child, line = value, key.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    child = node.value[part]
                    line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line

    def error(self, path: KeyPath, problem: str) -> ConfigError:
        """A ConfigError for the key at ``path``: file, key path, problem, line."""
        line = self.line_of(path)
        where = f" (line {line})" if line is not None else ""
        return ConfigError(
            f"{self.path}: {format_key_path(path)}: {problem}{where}",
            file=str(self.path),
            key=format_key_path(path),
            line=line,
        )


def read_yaml(path: Path) -> YamlDocument:
    """Parse one YAML document with the safe loader; refuse files over ``MAX_FILE_BYTES``."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is larger than the 1 MB limit for YAML files",
                file=str(path),
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it: {exc.strerror or exc}", file=str(path)
        ) from None
    if len(raw) > MAX_FILE_BYTES:  # it grew after stat
        raise ConfigError(f"{path}: larger than the 1 MB limit for YAML files", file=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)", file=str(path)
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        raise ConfigError(
            f"{path}: invalid YAML{where}: {problem}",
            file=str(path),
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}", file=str(path)) from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, root=root)


def expand_env(document: YamlDocument, path: KeyPath, value: str) -> str:
    """Replace each ``${VAR}`` with the environment's value; a missing one is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        found = os.environ.get(name)
        if found is None:
            raise document.error(path, f"environment variable {name} is not set")
        return found

    return _ENV_REFERENCE.sub(replace, value)


def load_store_url(path: Path) -> str | None:
    """The ``store: {url: ...}`` of a config file, secrets expanded; None when not given."""
    document = read_yaml(path)
    data = document.data
    if data is None:
        return None
    if not isinstance(data, dict):
        raise document.error((), f"expected a mapping of sections, got {kind_of(data)}")
    if "store" not in data or data["store"] is None:
        return None
    store = data["store"]
    if not isinstance(store, dict):
        raise document.error(
            ("store",), f"expected a mapping such as {{url: ...}}, got {kind_of(store)}"
        )
    for key in store:
        if key != "url":
            raise document.error(("store", str(key)), "unknown key; the store section has: url")
    url = store.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise document.error(("store", "url"), f"expected a database URL text, got {kind_of(url)}")
    return expand_env(document, ("store", "url"), url.strip())


def kind_of(value: object) -> str:
    """How a YAML reader would name a value's type (never the value: it may be a secret)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty text" if not value.strip() else "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
