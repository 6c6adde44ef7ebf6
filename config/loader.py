"""Reading YAML files that people write: size-capped, safe, and with errors that point home.

Every problem becomes a ``ConfigError`` that names the file, the key path (``store.url``,
``properties[2].type``) and the line, so an admin can fix the file without guessing. Only
the store URL is read here for now; the full configuration models come later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from syncd.errors import ConfigError

__all__ = [
    "ENV_REFERENCE",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "YamlDocument",
    "expand_env",
    "format_key_path",
    "kind_of",
    "load_store_url",
    "read_yaml",
]

# People write these files by hand; anything bigger is a mistake (or an attack on the parser).
MAX_FILE_BYTES = 1024 * 1024
# Aliases let a small file stand for a huge tree ("billion laughs"); nesting this deep is
# never a real config, and PyYAML's composer recurses on it.
MAX_NODES = 100_000
MAX_DEPTH = 64
ENV_REFERENCE = re.compile(r"\$\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

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
        return self.locate(path, at_key=True)[0]

    def locate(self, path: KeyPath, *, at_key: bool = False) -> tuple[int | None, int | None]:
        """The 1-based line and column a problem at ``path`` should point to.

        A value's own position when the whole path exists (its key's, with ``at_key``: an
        unknown or duplicate key is wrong as a name, not as a value); else the key of the
        deepest part that exists, so a missing key points at the mapping that lacks it.
        """
        node = self.root
        if node is None:
            return None, None
        mark = node.start_mark
        key_mark = mark
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        child, key_mark = value, key.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    child = node.value[part]
                    key_mark = child.start_mark
            if child is None:
                return key_mark.line + 1, key_mark.column + 1
            node = child
            mark = child.start_mark
        chosen = key_mark if at_key else mark
        return chosen.line + 1, chosen.column + 1

    def node_at(self, path: KeyPath) -> yaml.Node | None:
        """The node at ``path``, or None; lets a caller see how a scalar was written."""
        node = self.root
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                child = next(
                    (
                        v
                        for k, v in node.value
                        if isinstance(k, yaml.ScalarNode) and k.value == part
                    ),
                    None,
                )
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                child = node.value[part] if 0 <= part < len(node.value) else None
            if child is None:
                return None
            node = child
        return node

    def error(self, path: KeyPath, problem: str) -> ConfigError:
        """A ConfigError for the key at ``path``: file, key path, problem, line."""
        line, column = self.locate(path, at_key=True)
        where = f" (line {line})" if line is not None else ""
        return ConfigError(
            f"{self.path}: {format_key_path(path)}: {problem}{where}",
            file=str(self.path),
            key=format_key_path(path),
            line=line,
            column=column,
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
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}", file=str(path)) from None
    except RecursionError:
        raise ConfigError(
            f"{path}: nested deeper than {MAX_DEPTH} levels", file=str(path)
        ) from None
    finally:
        loader.dispose()
    if root is not None:
        _check_size(path, root)
    return YamlDocument(path=path, data=data, root=root)


def _check_size(path: Path, root: yaml.Node) -> None:
    """Refuse trees that are too deep, or that aliases make too big to walk.

    Counted on the node graph with each node's expanded size remembered, so a bomb of
    nested aliases costs one visit per distinct node, not one per expanded copy.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise ConfigError(
                f"{path}: nested deeper than {MAX_DEPTH} levels"
                f" (line {mark.line + 1}, column {mark.column + 1})",
                file=str(path),
                line=mark.line + 1,
                column=mark.column + 1,
            )
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_NODES:
            mark = node.start_mark
            raise ConfigError(
                f"{path}: more than {MAX_NODES} values once aliases are expanded"
                f" (line {mark.line + 1}, column {mark.column + 1})",
                file=str(path),
                line=mark.line + 1,
                column=mark.column + 1,
            )
        sizes[id(node)] = total
        return total

    size(root, 0)


def expand_env(
    document: YamlDocument, path: KeyPath, value: str, env: Mapping[str, str] | None = None
) -> str:
    """Replace each ``${VAR}`` with the environment's value; a missing one is an error.

    ``$${VAR}`` stands for a literal ``${VAR}``. Substituted text is never scanned again,
    so a secret that happens to contain ``${`` stays as it is.
    """
    source = os.environ if env is None else env

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "${" + match.group(1) + "}"
        name = match.group(2)
        found = source.get(name)
        if found is None:
            raise document.error(path, f"environment variable {name} is not set")
        return found

    return ENV_REFERENCE.sub(replace, value)


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
