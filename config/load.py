"""Reading a configuration file into :class:`~config.models.Config`, every problem located.

Each section (and each connector and sync) is validated on its own, so one broken sync
does not hide the mistakes of the others, and ``syncd check`` can still compare the valid
parts with the store. ``load_config`` is what the daemon calls: any problem refuses the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from config import _pydantic
from config.loader import ENV_REFERENCE, YamlDocument, format_key_path, kind_of, read_yaml
from config.models import (
    DEFAULT_LISTEN,
    DEFAULT_SERVER_THREADS,
    DEFAULT_STORE_URL,
    MAX_SERVER_THREADS,
    MAX_SERVER_WORKERS,
    ApiConfig,
    Config,
    ConnectorConfig,
    ConsoleConfig,
    FieldConfig,
    SyncConfig,
    check_listen,
)
from config.problems import ConfigErrors, ConfigProblem, nearest
from connectors import registry
from connectors.base import ConnectorError
from syncd.errors import ConfigError

__all__ = ["SECTIONS", "load_config", "read_config"]

SECTIONS = ("store", "server", "api", "console", "log", "connectors", "syncs")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MIN_SECRET = 4  # shorter substituted values are not hunted for in messages


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> Config:
    """The configuration in ``path``; ConfigErrors listing every problem if it has any.

    ``env`` replaces ``os.environ`` for ``${VAR}`` (tests, and a daemon that was handed
    its secrets some other way).
    """
    from config.check import check_static

    config, problems = read_config(path, env=env)
    problems = [*problems, *check_static(config)]
    if problems:
        raise ConfigErrors(sort_problems(problems))
    return config


def read_config(
    path: Path, *, env: Mapping[str, str] | None = None
) -> tuple[Config, list[ConfigProblem]]:
    """The parts of the file that are valid, and the problems of the rest.

    Only a file that cannot be read or parsed at all raises (ConfigErrors, one problem).
    """
    try:
        document = read_yaml(path)
    except ConfigError as exc:
        raise ConfigErrors([_file_problem(path, exc)]) from None
    reader = _Reader(document, os.environ if env is None else env)
    config = reader.read()
    return config, reader.finish()


def sort_problems(problems: Sequence[ConfigProblem]) -> list[ConfigProblem]:
    """In file order, so an admin can work down the file; duplicates dropped."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for problem in problems:
        ident = (problem.line, problem.column, problem.key, problem.message)
        if ident not in seen:
            seen.add(ident)
            unique.append(problem)
    big = 1 << 30
    return sorted(unique, key=lambda p: (p.line or big, p.column or big))


def _file_problem(path: Path, exc: ConfigError) -> ConfigProblem:
    message = str(exc)
    prefix = f"{path}: "
    if message.startswith(prefix):
        message = message[len(prefix) :]
    message = re.sub(r" at line \d+, column \d+", "", message)  # the position leads already
    return ConfigProblem(
        file=str(path),
        line=exc.data.get("line"),
        column=exc.data.get("column"),
        key=format_key_path(()),
        message=message,
    )


class _Store(BaseModel, extra="forbid", frozen=True):
    url: str = DEFAULT_STORE_URL


class _Server(BaseModel, extra="forbid", frozen=True):
    listen: str = DEFAULT_LISTEN
    workers: int = Field(default=1, ge=1, le=MAX_SERVER_WORKERS, strict=True)
    threads: int = Field(default=DEFAULT_SERVER_THREADS, ge=1, le=MAX_SERVER_THREADS, strict=True)

    _check_listen = field_validator("listen")(check_listen)


class _Log(BaseModel, extra="forbid", frozen=True):
    retention_days: int = 30

    @field_validator("retention_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 day")
        return value


class _Reader:
    """One pass over one document, collecting problems instead of stopping at the first."""

    def __init__(self, document: YamlDocument, env: Mapping[str, str]) -> None:
        self.document = document
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.secrets: set[str] = set()
        self.claimed: set[str] = set()  # key paths with a problem already, from the node scan
        # Broken syncs with their broken parts left out, for ``syncd check`` to check the rest.
        self.salvaged: dict[str, SyncConfig | None] = {}

    def add(
        self,
        path: Sequence[str | int],
        message: str,
        suggestion: str | None = None,
        *,
        at_key: bool = False,
    ) -> None:
        line, column = self.document.locate(path, at_key=at_key)
        self.problems.append(
            ConfigProblem(
                file=str(self.document.path),
                line=line,
                column=column,
                key=format_key_path(path),
                message=message,
                suggestion=suggestion,
            )
        )

    def finish(self) -> list[ConfigProblem]:
        """The problems in file order, with any substituted secret blanked out."""
        secrets = sorted((s for s in self.secrets if len(s) >= _MIN_SECRET), key=len, reverse=True)

        def redact(text: str | None) -> str | None:
            if text is None:
                return None
            for secret in secrets:
                text = text.replace(secret, "***")
            return text

        return sort_problems(
            [
                ConfigProblem(
                    p.file, p.line, p.column, p.key, redact(p.message) or "", redact(p.suggestion)
                )
                for p in self.problems
            ]
        )

    # --- the whole file --------------------------------------------------------------------

    def read(self) -> Config:
        document = self.document
        if document.root is not None:
            self._scan(document.root, ())
        raw = document.data
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.add(
                (), f"expected a mapping of sections ({', '.join(SECTIONS)}), got {kind_of(raw)}"
            )
            raw = {}
        data = self._expand(raw, ())
        assert isinstance(data, dict)
        for key in data:
            if key not in SECTIONS:
                self.add(
                    (str(key),),
                    f"unknown section; sections: {', '.join(SECTIONS)}",
                    nearest(key, SECTIONS),
                    at_key=True,
                )
        store = self._section(_Store, data, "store")
        server = self._section(_Server, data, "server")
        log = self._section(_Log, data, "log")
        api = self._section(ApiConfig, data, "api")
        console = self._section(ConsoleConfig, data, "console")
        broken: set[str] = set()
        connectors: dict[str, ConnectorConfig] = {}
        for name, body in self._named(data, "connectors"):
            connector = self._connector(name, body)
            if connector is None:
                broken.add(f"connectors.{name}")
            else:
                connectors[name] = connector
        syncs: dict[str, SyncConfig] = {}
        for name, body in self._named(data, "syncs"):
            sync = self._sync(name, body)
            if sync is None:
                broken.add(f"syncs.{name}")
            else:
                syncs[name] = sync
        config = Config(
            path=document.path,
            store_url=store.url if store else DEFAULT_STORE_URL,
            server_listen=server.listen if server else DEFAULT_LISTEN,
            server_workers=server.workers if server else 1,
            server_threads=server.threads if server else DEFAULT_SERVER_THREADS,
            log_retention_days=log.retention_days if log else 30,
            api=api or ApiConfig(),
            console=console or ConsoleConfig(),
            connectors=connectors,
            syncs=syncs,
        )
        config._document = document
        config._broken = frozenset(broken)
        config._salvaged = {n: s for n, s in self.salvaged.items() if s is not None}
        return config

    def _scan(
        self, node: yaml.Node, path: tuple[str | int, ...], seen: set[int] | None = None
    ) -> None:
        """Problems only the node tree shows: yes/no read as booleans, duplicate keys."""
        seen = set() if seen is None else seen
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
                self.claimed.add(format_key_path(path))
                self.problems.append(
                    ConfigProblem(
                        file=str(self.document.path),
                        line=node.start_mark.line + 1,
                        column=node.start_mark.column + 1,
                        key=format_key_path(path),
                        message=(
                            f"YAML reads an unquoted {node.value} as a boolean: write true or"
                            f" false for a boolean, or quote it ('{node.value}') for the word"
                        ),
                    )
                )
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                self._scan(child, (*path, index), seen)
        elif isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if name in keys:
                        self.problems.append(
                            ConfigProblem(
                                file=str(self.document.path),
                                line=key.start_mark.line + 1,
                                column=key.start_mark.column + 1,
                                key=format_key_path((*path, name)),
                                message="duplicate key: the later one would silently win",
                            )
                        )
                    keys.add(name)
                self._scan(key, (*path, name), seen)
                self._scan(value, (*path, name), seen)

    def _expand(self, value: object, path: tuple[str | int, ...]) -> object:
        """A copy with ``${VAR}`` replaced in every text value (keys are left alone)."""
        if isinstance(value, str):
            return self._expand_text(value, path)
        if isinstance(value, list):
            return [self._expand(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                key: self._expand(item, (*path, key if isinstance(key, str) else str(key)))
                for key, item in value.items()
            }
        return value

    def _expand_text(self, text: str, path: tuple[str | int, ...]) -> str:
        missing: list[str] = []

        def replace(match: Any) -> str:
            if match.group(1) is not None:
                return "${" + str(match.group(1)) + "}"
            name = str(match.group(2))
            found = self.env.get(name)
            if found is None:
                missing.append(name)
                return ""
            self.secrets.add(found)
            return found

        result = ENV_REFERENCE.sub(replace, text)
        for name in missing:
            self.add(path, f"environment variable {name} is not set")
        return result

    # --- sections --------------------------------------------------------------------------

    def _section(
        self,
        model: type[_Store] | type[_Server] | type[_Log] | type[ApiConfig] | type[ConsoleConfig],
        data: dict[Any, Any],
        key: str,
    ) -> Any:
        body = data.get(key)
        if body is None:
            return model()
        return self._validate(model, body, (key,))

    def _named(self, data: dict[Any, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
        """The entries of ``connectors:`` or ``syncs:``, each a name and a mapping."""
        section = data.get(key)
        if section is None:
            return []
        if not isinstance(section, dict):
            self.add((key,), f"expected a mapping of names to settings, got {kind_of(section)}")
            return []
        entries = []
        for name, body in section.items():
            if not isinstance(name, str) or not name.strip():
                self.add((key, str(name)), "a name must be text", at_key=True)
            elif not isinstance(body, dict):
                self.add((key, name), f"expected a mapping of settings, got {kind_of(body)}")
            else:
                entries.append((name, body))
        return entries

    def _validate(self, model: type[Any], data: object, prefix: tuple[str | int, ...]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for problem in _pydantic.problems(model, exc, data, self.document):
                path = (*prefix, *problem.path)
                if format_key_path(path) in self.claimed:
                    continue
                self.add(path, problem.message, problem.suggestion, at_key=problem.at_key)
            return None

    def _connector(self, name: str, body: dict[str, Any]) -> ConnectorConfig | None:
        path: tuple[str | int, ...] = ("connectors", name)
        type_name = body.get("type")
        if type_name is None:
            self.add(
                path,
                f"type is required; known types: {', '.join(sorted(registry.CONNECTOR_TYPES))}",
            )
            return None
        if not isinstance(type_name, str):
            self.add((*path, "type"), f"expected a connector type name, got {kind_of(type_name)}")
            return None
        try:
            cls = registry.connector_class(type_name)
        except ConnectorError:
            known = sorted(registry.CONNECTOR_TYPES)
            self.add(
                (*path, "type"),
                f"unknown connector type; known types: {', '.join(known)}",
                nearest(type_name, known),
            )
            return None
        except ImportError as exc:
            self.add((*path, "type"), f"connector type {type_name} cannot be loaded: {exc}")
            return None
        options = {k: v for k, v in body.items() if k != "type"}
        validated = self._validate(cls.options_model, options, path)
        if validated is None:
            return None
        return ConnectorConfig(name=name, type=type_name, options=validated)

    def _sync(self, name: str, body: dict[str, Any]) -> SyncConfig | None:
        path: tuple[str | int, ...] = ("syncs", name)
        given = body.get("name", name)
        if given != name:
            self.add((*path, "name"), "differs from the sync's key; leave name out")
            return None
        body = {**body, "name": name}
        fields = body.get("fields")
        if isinstance(fields, list):
            body["fields"] = [
                self._field_values(item, (*path, "fields", i)) for i, item in enumerate(fields)
            ]
        sync = self._validate(SyncConfig, body, path)
        valid = sync if isinstance(sync, SyncConfig) else None
        checked = valid
        if valid is None:
            checked = self.salvaged[name] = _salvage(body)
        if checked is not None:
            for index, field in checked.numbered_fields():
                self._field(field, (*path, "fields", index))
        return valid

    def _field_values(self, item: object, path: tuple[str | int, ...]) -> object:
        """``values:`` rebuilt from the nodes: ``1:`` and ``01:`` keep the text written."""
        if not isinstance(item, dict) or not isinstance(item.get("values"), dict):
            return item
        node = self.document.node_at((*path, "values"))
        if not isinstance(node, yaml.MappingNode):
            return item
        values: dict[str, object] = {}
        for key, value in node.value:
            external = self._scalar_text(key, (*path, "values"))
            crm = self._scalar_text(value, (*path, "values", external or "?"))
            if external is not None:
                values[external] = crm
        return {**item, "values": values}

    def _scalar_text(self, node: yaml.Node, path: tuple[str | int, ...]) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            return None  # pydantic reports it as not text
        text = str(node.value)
        if node.tag == _BOOL_TAG:
            return text.lower()  # true/false; yes/no were reported by the scan
        if node.tag == "tag:yaml.org,2002:str":
            return self._expand_text(text, path)
        return text  # a number as written: 01 stays 01

    def _field(self, field: FieldConfig, path: tuple[str | int, ...]) -> None:
        """What the mapping layer would refuse, located at the key to change."""
        if field.values is not None and field.transform is not None:
            self.add((*path, "transform"), "give values (a value map) or transform, not both")
            return
        if field.values is None:
            for key in ("unmapped", "default"):
                if getattr(field, key) is not None:
                    self.add((*path, key), "applies only to a value map (values)")
            if field.options and field.transform is None:
                self.add((*path, "options"), "options need a transform")
                return
        if field.problem is not None:  # compiled when the model was made; it says where
            setting, message = field.problem
            self.add((*path, *setting), message)


# Keys whose value the static checks read across fields: a sync whose value of one of them is
# broken is not checked further (its default would only bring problems the file does not have).
_NOT_SALVAGED = frozenset({"name", "connector", "external_object", "crm_object", "direction"})


def _salvage(body: dict[str, Any]) -> SyncConfig | None:
    """The sync without its broken parts (unknown or bad optional keys, bad ``fields`` items),
    so its other fields can still be checked against the store in the same run; None when
    what is broken is what the rest depends on."""
    fields = body.get("fields")
    if not isinstance(fields, list):
        return None
    try:
        SyncConfig.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors()
    else:  # pragma: no cover - only called for a body that failed
        return None
    drop: set[str] = set()
    bad_fields: set[int] = set()
    for error in errors:
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
            bad_fields.add(loc[1])
        elif loc and isinstance(loc[0], str) and loc[0] not in _NOT_SALVAGED | {"fields"}:
            drop.add(loc[0])
        else:
            return None
    kept = [i for i in range(len(fields)) if i not in bad_fields]
    if not kept:
        return None
    rest = {k: v for k, v in body.items() if k not in drop}
    rest["fields"] = [fields[i] for i in kept]
    try:
        sync = SyncConfig.model_validate(rest)
    except ValidationError:
        return None
    sync._field_index = tuple(kept)
    return sync
