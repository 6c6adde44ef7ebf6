"""From the loaded YAML to what the engine runs: specs and connector instances.

The configuration compiled each field when it was loaded (``FieldConfig.compiled``: the
transform built and checked, tied to its properties); a spec is assembled from those
compiled mappings, narrowed to the sync's direction, and builds no transform of its own.
"""

from __future__ import annotations

from config.models import Config, SyncConfig
from connectors.base import Connector
from connectors.http import HttpClients
from connectors.registry import connector_class
from syncd.engine.spec import AssociationSpec, SyncSpec
from syncd.errors import ConfigError

__all__ = ["build_connector", "build_spec", "build_specs"]


def build_spec(config: Config, sync: SyncConfig) -> SyncSpec:
    """The engine's view of one sync; ConfigError when an association names no sync."""
    associations: list[AssociationSpec] = []
    for assoc in sync.associations:
        target = config.association_sync(sync, assoc)
        if target is None:
            raise ConfigError(
                f"sync {sync.name}: association {assoc.external} -> {assoc.crm_object} needs"
                " `sync:` naming the sync that links those records",
                sync=sync.name,
            )
        associations.append(
            AssociationSpec(assoc.external, assoc.crm_object, assoc.label, target.name)
        )
    return SyncSpec.build(
        sync.name,
        connector=sync.connector,
        external_object=sync.external_object,
        crm_object=sync.crm_object,
        mappings=sync.mappings(),
        rules=sync.field_rules(),
        direction=sync.direction,
        default_rule=sync.conflict,
        match_crm=sync.match.crm if sync.match else None,
        match_external=sync.match.external if sync.match else None,
        delete_from_external=sync.deletes.from_external,
        delete_from_crm=sync.deletes.from_crm,
        delete_on_edit=sync.deletes.on_edit,
        brake_count=sync.delete_brake.max_count,
        brake_share=sync.delete_brake.max_share,
        brake_min=sync.delete_brake.min_count,
        crm_filters=tuple(sync.filters.crm),
        external_filters=tuple(sync.filters.external),
        associations=tuple(associations),
        batch_size=sync.batch_size,
        retry_attempts=sync.retry_attempts,
    )


def build_specs(config: Config) -> dict[str, SyncSpec]:
    """Every sync's spec, by name: what a daemon runs for one loaded configuration."""
    return {name: build_spec(config, sync) for name, sync in config.syncs.items()}


def build_connector(config: Config, name: str, *, http: HttpClients | None = None) -> Connector:
    """The connector ``name`` of ``config``; an HTTP connector takes its client from ``http``
    (the daemon's), or makes its own for a one-off command when there is none."""
    connector = config.connectors.get(name)
    if connector is None:
        raise ConfigError(f"no connector named {name!r} in the configuration", connector=name)
    return connector_class(connector.type)(name, connector.options, http=http)
