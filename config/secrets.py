"""Secrets written into the file instead of referenced: warnings for ``syncd check``.

A token, password or key typed into ``syncd.yaml`` ends up in version control, backups and
screen shares; ``${VAR}`` keeps it in the environment. The file still loads (a laptop demo
may want exactly that), so these are warnings, each naming the file, line, key and the fix.

A value is a plain-text secret when its key names a secret (``token``, ``password``,
``secret``, ``api_key``, ``client_secret``, ``private_key``…, in any case, with ``_`` or ``-``)
and the value is non-empty text that references no ``${VAR}`` (also the ``value`` of an
``api_key`` auth); or when any URL carries a
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
    "authorization",
)
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:(?P<password>[^@/\s]+)@")


def _secret_key(name: str) -> bool:
    return name.lower().replace("_", "").replace("-", "").endswith(SECRET_KEYS)


def _example(path: tuple[str | int, ...], field: str) -> str:
    """A ``${VAR}`` named after where the secret is: ``${DAV_PASSWORD}``, ``${STORE_PASSWORD}``."""
    owner = str(path[1]) if len(path) > 2 and path[0] == "connectors" else str(path[0])
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{owner}_{field}").strip("_").upper()
    return "${" + (name or "SECRET") + "}"


def _api_key_value(node: yaml.MappingNode, key: str) -> bool:
    """``value`` of an ``api_key`` auth (``{type: api_key, name: X-Key, value: ...}``)."""
    if key != "value":
        return False
    return any(
        isinstance(k, yaml.ScalarNode)
        and k.value == "type"
        and isinstance(v, yaml.ScalarNode)
        and v.value == "api_key"
        for k, v in node.value
    )


def _references_env(text: str) -> bool:
    """Whether ``text`` takes something from the environment (``$${X}`` is a literal)."""
    return any(match.group(2) for match in ENV_REFERENCE.finditer(text))


def plain_secret_warnings(document: YamlDocument) -> list[ConfigProblem]:
    """One warning per plain-text secret in ``document``, in file order."""
    found: list[ConfigProblem] = []
    seen: set[int] = set()

    def warn(node: yaml.Node, path: tuple[str | int, ...], what: str, field: str) -> None:
        found.append(
            ConfigProblem(
                file=str(document.path),
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                key=format_key_path(path),
                message=(
                    f"warning: {what} is written in the file in plain text; put it in an environment "
                    f'variable and write ${{VAR}} here (e.g. "{_example(path, field)}")'
                ),
            )
        )

    def walk(
        node: yaml.Node, path: tuple[str | int, ...], key: str | None, secret: bool = False
    ) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            text = node.value
            if not isinstance(text, str) or node.tag != "tag:yaml.org,2002:str":
                return
            is_secret = secret or (key is not None and _secret_key(key))
            if key is not None and is_secret and text.strip() and not _references_env(text):
                warn(node, path, f"a secret ({key})", "api_key" if secret else key)
                return
            match = _URL_PASSWORD.search(text)
            if match and not _references_env(match["password"]):
                warn(node, path, "the password in this URL", "password")
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                walk(child, (*path, index), None)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                walk(value, (*path, str(name)), str(name), _api_key_value(node, str(name)))

    if document.root is not None:
        walk(document.root, (), None)
    return found
