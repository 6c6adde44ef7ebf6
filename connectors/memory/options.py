"""The ``memory`` connector's YAML options (see docs/connectors.md, ``memory``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, SecretStr, model_validator

from connectors.base import ConnectorOptions

__all__ = ["MemoryObjectOptions", "MemoryOptions"]


class MemoryObjectOptions(ConnectorOptions):
    """One object of the in-memory system: its rules and the records it starts with."""

    #: The fields a record may hold; a write naming another fails that record. None: any.
    fields: list[str] | None = None
    #: Fields whose value no two live records share; a write that would fails that record.
    unique: list[str] = Field(default_factory=list)
    #: Keep deleted records as tombstones (changes report them) instead of dropping them.
    tombstones: bool = False
    #: How far before the stored cursor a resumed run starts reading.
    lookback_seconds: float = Field(default=5.0, ge=0)
    #: Records the object holds when the system is first used in this process.
    records: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_fields(self) -> MemoryObjectOptions:
        if self.fields is None:
            return self
        unknown = sorted({u for u in self.unique if u not in self.fields})
        unknown += sorted({k for r in self.records for k in r if k not in self.fields})
        if unknown:
            raise ValueError(
                f"names fields not in fields: {', '.join(dict.fromkeys(unknown))}; "
                f"fields: {', '.join(self.fields)}"
            )
        return self


class MemoryOptions(ConnectorOptions):
    """The ``memory`` connector's options."""

    model_config = ConfigDict(hide_input_in_errors=True)

    #: The in-process system's name: connectors naming the same one share its records.
    #: Default: the connector's own name.
    system: str | None = Field(default=None, min_length=1)
    #: The token presented; refused when the system was given another one.
    token: SecretStr | None = None
    #: Whether the system remembers each create's idempotency key: a repeated create returns
    #: the record the first one made, and a create whose answer was lost is found by it.
    #: False models an API without such keys (a lost answer is found only by a match value).
    idempotency_keys: bool = True
    objects: dict[str, MemoryObjectOptions]

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        if self.idempotency_keys or match_field is not None:
            return None
        return (
            f"object {external_object}: the memory system has idempotency_keys: false and the "
            "sync has no match: a create whose answer is lost cannot be found again and is "
            "parked for an operator; set idempotency_keys: true or the sync's match:"
        )
