"""The typed, frozen configuration the engine runs on (see ``docs/configuration.md``).

Each YAML section has one model; unknown keys are refused, never ignored, because a
misspelt key that is silently dropped is a sync that silently does the wrong thing.
Models know nothing about files: ``config.load`` reads the YAML, locates every problem and
builds these; ``config.check`` compares them with the store.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializeAsAny,
    field_validator,
    model_validator,
)

from config.loader import YamlDocument
from conflict.model import Rule
from connectors.base import ConnectorOptions
from mapping import (
    EnumMap,
    FieldMapping,
    Identity,
    MappingConfigError,
    Transform,
    build_transform,
)
from syncd.direction import Direction
from syncd.errors import ConfigError

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_RECONCILE_SECONDS",
    "DEFAULT_SERVER_THREADS",
    "DEFAULT_STORE_URL",
    "MAX_SERVER_THREADS",
    "MAX_SERVER_WORKERS",
    "ApiConfig",
    "AssociationConfig",
    "Config",
    "ConnectorConfig",
    "ConsoleConfig",
    "DeleteBrake",
    "DeleteRules",
    "Direction",
    "FieldConfig",
    "FilterRule",
    "MatchConfig",
    "RateLimitConfig",
    "Schedule",
    "SyncConfig",
    "SyncFilters",
    "check_listen",
]

DeleteAction = Literal["archive", "delete", "ignore"]
FilterValue = str | int | float | bool | None

DEFAULT_STORE_URL = "sqlite:///syncd.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
MAX_SERVER_WORKERS = 64
MAX_SERVER_THREADS = 64
#: Requests one HTTP process runs at once (``server.threads``; syncd.http.threads says why).
DEFAULT_SERVER_THREADS = 2

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_LISTEN = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]*):(\d{1,5})$")


def check_listen(value: str) -> str:
    """``host:port`` with a port that exists; the host is the resolver's business."""
    found = _LISTEN.match(value)
    if found is None or not 0 < int(found.group(1)) < 65536:
        raise ValueError("expected host:port, such as 127.0.0.1:8080")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """When a sync polls: ``every`` so many seconds, or on a ``cron`` line; neither = manual."""

    every: float | None = None
    cron: str | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        # bool is an int to Python; ``every: yes`` is a mistake, not one second.
        if isinstance(value, bool):
            raise ValueError("expected a duration such as 60s, 5m, 1h or a number of seconds")
        if isinstance(value, str):
            found = _DURATION.match(value)
            if found is None:
                raise ValueError("expected a duration such as 60s, 5m, 1h or a number of seconds")
            return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
        return value

    @field_validator("every")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(
                    f"not a cron line (minute hour day month weekday): {exc}"
                ) from None
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if self.every is not None and self.cron is not None:
            raise ValueError("give every or cron, not both")
        return self


class MatchConfig(_Model):
    """How an unlinked external record finds its CRM record: equal values of these two."""

    crm: str
    external: str


def _duration_seconds(value: object) -> object:
    """``60s``, ``5m``, ``1h``, ``1d`` or a number: seconds (anything else is left to fail)."""
    # bool is an int to Python; ``every: yes`` is a mistake, not one second.
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 60s, 5m, 1h or a number of seconds")
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise ValueError("expected a duration such as 60s, 5m, 1h or a number of seconds")
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    return value


#: How often the daemon looks for external deletes that left no tombstone, by default.
DEFAULT_RECONCILE_SECONDS = 15 * 60.0


class DeleteRules(_Model):
    """What a delete on one side does to the other side's linked record, and how often the
    daemon compares the links with every live external id to find deletes no change feed
    shows (``reconcile_every``; its next due time is kept in the store across restarts)."""

    from_external: DeleteAction = "ignore"
    from_crm: DeleteAction = "ignore"
    reconcile_every: float = DEFAULT_RECONCILE_SECONDS
    #: A delete on one side meets an edit on the other made since the last sync: the edit
    #: wins and the deleted record comes back (``keep_edit``), or the delete goes ahead
    #: (``delete``). Either way a conflict row keeps both sides.
    on_edit: Literal["keep_edit", "delete"] = "keep_edit"

    @field_validator("reconcile_every", mode="before")
    @classmethod
    def _reconcile_duration(cls, value: object) -> object:
        return _duration_seconds(value)

    @field_validator("reconcile_every")
    @classmethod
    def _reconcile_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value


class DeleteBrake(_Model):
    """A cycle deleting more than ``max_count`` records or ``max_share`` of the linked ones
    stops: a wiped source table must not wipe the CRM."""

    max_count: int = Field(default=100, ge=0)
    max_share: float = Field(default=0.2, ge=0, le=1)
    #: The share rule counts only from this many deletes on: deleting 1 of a sync's 3 records
    #: is ordinary, not a wiped source.
    min_count: int = Field(default=10, ge=0)


class FilterRule(_Model):
    """One condition a record must meet to take part in the sync."""

    field: str
    op: Literal["eq", "neq", "in", "not_in", "has", "not_has"] = "eq"
    value: FilterValue = None
    values: list[FilterValue] | None = None

    @model_validator(mode="after")
    def _operands(self) -> FilterRule:
        if self.op in ("in", "not_in"):
            if self.values is None or self.value is not None:
                raise ValueError(f"op {self.op} takes values (a list), not value")
        elif self.op in ("has", "not_has"):
            if self.values is not None or self.value is not None:
                raise ValueError(f"op {self.op} takes neither value nor values")
        elif self.values is not None:
            raise ValueError(f"op {self.op} takes value, not values")
        return self


class SyncFilters(_Model):
    """Conditions on each side; a record must meet all of its side's rules."""

    crm: list[FilterRule] = Field(default_factory=list)
    external: list[FilterRule] = Field(default_factory=list)


class FieldConfig(_Model):
    """One mapped field: external path <-> CRM properties, with its transform and rule.

    The field is compiled once, when the model is made: its transform is built and checked
    and tied to its properties in a :class:`FieldMapping` (``compiled``), which the engine's
    spec uses as it is. A mistake the mapping layer refuses is kept (``problem``) with the
    YAML key it is about, for the loader to report with its file:line:col.
    """

    crm: str | list[str]
    external: str = ""
    direction: Direction = Direction.TWO_WAY
    transform: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    values: dict[str, str] | None = None
    unmapped: Literal["error", "skip", "default"] | None = None
    default: str | None = None
    conflict: Rule | None = None
    _compiled: FieldMapping | None = PrivateAttr(default=None)
    _problem: tuple[tuple[str, ...], str] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        try:
            self._compiled = FieldMapping(
                crm=self.crm_names,
                external=self.external,
                direction=self.direction,
                transform=self._transform(),
            )
        except MappingConfigError as exc:
            self._problem = (self._yaml_key(exc.key), str(exc))
        except ConfigError as exc:  # pragma: no cover - mapping raises MappingConfigError
            self._problem = (("transform" if self.values is None else "values",), str(exc))

    @property
    def crm_names(self) -> tuple[str, ...]:
        """The CRM property names, one or several (``split`` fills two)."""
        return (self.crm,) if isinstance(self.crm, str) else tuple(self.crm)

    @property
    def problem(self) -> tuple[tuple[str, ...], str] | None:
        """Why the mapping layer refused this field: the key under the field (``options``,
        ``options.region``, ``values``, ``transform``, ``crm``, ...) and the message."""
        return self._problem

    @property
    def compiled(self) -> FieldMapping:
        """The field mapping built from this field, once; ConfigError if it was refused."""
        if self._compiled is None:
            assert self._problem is not None
            raise ConfigError(self._problem[1], key=".".join(self._problem[0]))
        return self._compiled

    def _yaml_key(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """Where a setting the mapping layer names is written in this field's YAML: a value
        map's options are keys of the field itself (``values``, ``unmapped``, ``default``)."""
        if self.values is not None:
            if key == ("transform",):
                return ("values",)
            if len(key) == 2 and key[0] == "options" and key[1] in _VALUE_MAP_KEYS:
                return (key[1],)
        return key

    def _transform(self) -> Transform:
        """The transform: a value map when ``values`` is given, else the named one.

        Raises MappingConfigError for an unknown transform or a bad option.
        """
        if self.values is not None:
            options: dict[str, Any] = {
                "values": self.values,
                "unmapped": self.unmapped or "error",
                "default": self.default,
                **self.options,
            }
            return build_transform(EnumMap.name, options)
        if self.transform is not None:
            return build_transform(self.transform, self.options)
        return Identity()

    def mapping(self, direction: Direction | None = None) -> FieldMapping:
        """The compiled mapping, flowing ``direction`` (default: its own); its transform is
        the one built when the model was made, never a second one."""
        compiled = self.compiled
        if direction is None or direction is compiled.direction:
            return compiled
        return dataclasses.replace(compiled, direction=direction)


_VALUE_MAP_KEYS = frozenset({"values", "unmapped", "default"})


class AssociationConfig(_Model):
    """An external field holding another record's external id, kept as a CRM association.

    ``sync`` names the sync whose links turn that id into a CRM record; by default it is the
    one sync on the same connector whose ``crm_object`` is ``crm_object``.
    """

    external: str
    crm_object: str
    label: str | None = None
    sync: str | None = None


class SyncConfig(_Model):
    """One external object <-> one CRM object, with its fields, rules and schedule."""

    name: str
    connector: str
    external_object: str
    crm_object: str
    direction: Direction = Direction.TWO_WAY
    schedule: Schedule = Field(default_factory=Schedule)
    match: MatchConfig | None = None
    conflict: Rule = Rule.CRM_WINS
    deletes: DeleteRules = Field(default_factory=DeleteRules)
    delete_brake: DeleteBrake = Field(default_factory=DeleteBrake)
    filters: SyncFilters = Field(default_factory=SyncFilters)
    fields: list[FieldConfig] = Field(min_length=1)
    associations: list[AssociationConfig] = Field(default_factory=list)
    batch_size: int = Field(500, ge=1, le=1000)
    #: Failed outbound writes are retried with back-off this many times, then parked.
    retry_attempts: int = Field(8, ge=1, le=100)
    # Set only on a sync ``syncd check`` salvaged from a broken one: each field's index in
    # the file, since the broken fields were left out (``numbered_fields``).
    _field_index: tuple[int, ...] | None = PrivateAttr(default=None)

    def numbered_fields(self) -> list[tuple[int, FieldConfig]]:
        """Each field with its index under ``fields:`` in the file, for problem locations."""
        index = self._field_index if self._field_index is not None else range(len(self.fields))
        return list(zip(index, self.fields, strict=True))

    def field_direction(self, field: FieldConfig) -> Direction | None:
        """The way ``field`` really flows in this sync; None when it cannot flow at all
        (a ``to_external`` field in a ``to_crm`` sync, which ``config.check`` reports)."""
        return field.direction.within(self.direction)

    def mappings(self) -> tuple[FieldMapping, ...]:
        """The compiled field mappings, each narrowed to the sync's direction."""
        return tuple(
            field.mapping(direction)
            for field in self.fields
            if (direction := self.field_direction(field)) is not None
        )

    def field_rules(self) -> dict[str, Rule | None]:
        """Each CRM property's own conflict rule; None means the sync's ``conflict``."""
        return {name: field.conflict for field in self.fields for name in field.crm_names}

    def field_directions(self) -> dict[str, Direction]:
        """Each CRM property's direction, narrowed to the sync's."""
        return {
            name: self.field_direction(field) or field.direction
            for field in self.fields
            for name in field.crm_names
        }


class ConnectorConfig(_Model):
    """One configured external system; ``options`` is its type's own options model.

    Options are left out of ``repr``: they hold URLs and tokens.
    """

    name: str
    type: str
    options: SerializeAsAny[ConnectorOptions] = Field(repr=False)


_BYTES = re.compile(r"^\s*(\d{1,12})\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
MIN_BODY_BYTES = 1024
MAX_BODY_BYTES = 256 * 1024**2


class RateLimitConfig(_Model):
    """Each API token may make ``max`` requests in any rolling ``interval_ms``."""

    # HubSpot's Professional burst limit: 190 requests per rolling ten seconds.
    max: int = Field(default=190, ge=1, le=1_000_000, strict=True)
    interval_ms: int = Field(default=10_000, ge=100, le=3_600_000, strict=True)


class ApiConfig(_Model):
    """The HubSpot-compatible REST API the daemon serves beside its webhooks."""

    enabled: bool = Field(default=True, strict=True)
    rate_limit: RateLimitConfig = RateLimitConfig()
    # Bodies are read whole before a route runs, so this bounds memory per request too.
    max_body_bytes: int = 4 * 1024**2

    @field_validator("max_body_bytes", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("expected a size such as 4MiB, 512KiB or a number of bytes")
        if isinstance(value, str):
            found = _BYTES.match(value)
            if found is None:
                raise ValueError("expected a size such as 4MiB, 512KiB or a number of bytes")
            value = int(found.group(1)) * _BYTE_UNITS[(found.group(2) or "").lower()]
        if not MIN_BODY_BYTES <= value <= MAX_BODY_BYTES:
            raise ValueError(
                f"must be between {MIN_BODY_BYTES} bytes (1KiB) and {MAX_BODY_BYTES} bytes (256MiB)"
            )
        return value


class ConsoleConfig(_Model):
    """The operators' web console at ``/console``, served beside the API (``api.enabled``
    false turns it off too: it signs in with the API's tokens)."""

    enabled: bool = Field(default=True, strict=True)
    # How long a browser session lasts after sign-in; revoking the token ends it sooner.
    session_hours: int = Field(default=12, ge=1, le=168, strict=True)


class Config(_Model):
    """The whole configuration, read-only once loaded.

    ``store_url`` is left out of ``repr``: it usually carries a database password.
    """

    path: Path | None = None
    store_url: str = Field(DEFAULT_STORE_URL, repr=False)
    server_listen: str = DEFAULT_LISTEN
    # Processes serving HTTP (the daemon's and workers - 1 more; syncd.http.workers).
    server_workers: int = Field(1, ge=1, le=MAX_SERVER_WORKERS)
    # Requests each of them runs at once, in threads (syncd.http.threads).
    server_threads: int = Field(DEFAULT_SERVER_THREADS, ge=1, le=MAX_SERVER_THREADS)
    log_retention_days: int = Field(30, ge=1)
    api: ApiConfig = Field(default_factory=ApiConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    connectors: dict[str, ConnectorConfig] = Field(default_factory=dict)
    syncs: dict[str, SyncConfig] = Field(default_factory=dict)

    _document: YamlDocument | None = PrivateAttr(default=None)
    _broken: frozenset[str] = PrivateAttr(default=frozenset())
    # Broken syncs with their broken parts left out: ``syncd check`` checks the rest of them.
    _salvaged: dict[str, SyncConfig] = PrivateAttr(default_factory=dict)

    _check_listen = field_validator("server_listen")(check_listen)

    def association_sync(
        self, sync: SyncConfig, association: AssociationConfig
    ) -> SyncConfig | None:
        """The sync whose links resolve ``association``'s ids; None if none or ambiguous."""
        if association.sync is not None:
            return self.syncs.get(association.sync)
        found = [
            other
            for other in self.syncs.values()
            if other.connector == sync.connector and other.crm_object == association.crm_object
        ]
        return found[0] if len(found) == 1 else None
