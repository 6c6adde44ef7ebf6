"""Secrets written into the file instead of referenced: warnings for ``syncd check``.

A token, password or key typed into ``syncd.yaml`` ends up in version control, backups and
screen shares; ``${VAR}`` keeps it in the environment. The file still loads (a laptop demo
may want exactly that), so these are warnings, each naming the file, line, key and the fix.

A value is a plain-text secret when its key names a secret (``token``, ``password``,
``secret``, ``api_key``, ``client_secret``, ``private_key``…, in any case, with ``_`` or ``-``)
and the value is non-empty text that references no ``${VAR}``; or when any URL carries a
password (``scheme://user:password@host``) that is not a ``${VAR}``. The value itself is never
shown.
"""

from __future__ import annotations

import re

import yaml

from config.loader import ENV_REFERENCE, YamlDocument, format_key_path
from config.problems import ConfigProblem

__all__ = ["SECRET_KEYS", "plain_secret_warnings"]

# Key names (lower case, without "_" and "-") that hold a secret, matched as a suffix so that
# "access_token", "db_password" and "stripe_api_key" are caught too.
SECRET_KEYS = (
    "token",
    "password",
    "passwd",
    "secret",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "credentials",
)
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:(?P<password>[^@/\s]+)@")


def _secret_key(name: str) -> bool:
    return name.lower().replace("_", "").replace("-", "").endswith(SECRET_KEYS)


def _references_env(text: str) -> bool:
    """Whether ``text`` takes something from the environment (``$${X}`` is a literal)."""
    return any(match.group(2) for match in ENV_REFERENCE.finditer(text))


def plain_secret_warnings(document: YamlDocument) -> list[ConfigProblem]:
    """One warning per plain-text secret in ``document``, in file order."""
    found: list[ConfigProblem] = []
    seen: set[int] = set()

    def warn(node: yaml.Node, path: tuple[str | int, ...], what: str) -> None:
        found.append(
            ConfigProblem(
                file=str(document.path),
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                key=format_key_path(path),
                message=(
                    f"warning: {what} is written in the file in plain text; put it in an environment "
                    'variable and write ${VAR} here (e.g. "${SHOP_TOKEN}")'
                ),
            )
        )

    def walk(node: yaml.Node, path: tuple[str | int, ...], key: str | None) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            text = node.value
            if not isinstance(text, str) or node.tag != "tag:yaml.org,2002:str":
                return
            if key is not None and _secret_key(key) and text.strip() and not _references_env(text):
                warn(node, path, f"a secret ({key})")
                return
            match = _URL_PASSWORD.search(text)
            if match and not _references_env(match["password"]):
                warn(node, path, "the password in this URL")
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                walk(child, (*path, index), None)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                walk(value, (*path, str(name)), str(name))

    if document.root is not None:
        walk(document.root, (), None)
    return found
