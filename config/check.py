"""What a well-formed configuration can still get wrong: names and rules that do not fit.

``check_static`` needs nothing but the configuration (it runs on every load);
``check_config`` adds what only the store knows: objects, properties, their types, options,
uniqueness and association labels. Both return every problem, each located in the file, so
``syncd check`` shows them all in one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from config.loader import format_key_path
from config.models import Config, FieldConfig, SyncConfig
from config.problems import ConfigProblem, nearest
from conflict.model import Rule
from connectors.base import ConnectorError
from connectors.registry import connector_class
from mapping import TRANSFORMS, find_clashes
from syncd.direction import Direction

if TYPE_CHECKING:
    from store import PropertyDef, Store

__all__ = ["check_config", "check_static"]

Path = tuple[str | int, ...]
_BOOL_VALUES = ("true", "false")


class _Report:
    """Problems located through the configuration's document (when it came from a file)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.problems: list[ConfigProblem] = []

    def add(self, path: Path, message: str, suggestion: str | None = None) -> None:
        document = self.config._document
        line, column = document.locate(path) if document is not None else (None, None)
        self.problems.append(
            ConfigProblem(
                file=str(self.config.path or "(config)"),
                line=line,
                column=column,
                key=format_key_path(path),
                message=message,
                suggestion=suggestion,
            )
        )


def _checked_syncs(config: Config) -> dict[str, SyncConfig]:
    """The valid syncs and what parsed of the broken ones, so one run reports every problem
    (a sync with an unknown key still has its fields checked against the store)."""
    return {**config.syncs, **config._salvaged}


def check_static(config: Config) -> list[ConfigProblem]:
    """Problems among the configuration's own names and rules, without the store."""
    report = _Report(config)
    for name, sync in _checked_syncs(config).items():
        path: Path = ("syncs", name)
        _check_connector(report, config, sync, path)
        _check_flows(report, sync, path)
        _check_writers(report, sync, path)
        _check_association_syncs(report, config, sync, path)
    return report.problems


def check_config(config: Config, store: Store) -> list[ConfigProblem]:
    """Every problem :func:`check_static` finds, and every mismatch with the store."""
    report = _Report(config)
    report.problems.extend(check_static(config))
    objects = [schema.name for schema in store.list_objects()]
    for name, sync in _checked_syncs(config).items():
        path: Path = ("syncs", name)
        if sync.crm_object not in objects:
            report.add(
                (*path, "crm_object"),
                f"no CRM object {sync.crm_object}; objects: {', '.join(objects)}",
                nearest(sync.crm_object, objects),
            )
            continue
        live = {p.name: p for p in store.list_properties(sync.crm_object)}
        every = {p.name for p in store.list_properties(sync.crm_object, include_archived=True)}
        properties = _Properties(report, sync.crm_object, live, every - set(live))
        for index, field in sync.numbered_fields():
            _check_field(report, properties, sync, field, (*path, "fields", index))
        _check_match(report, properties, sync, path)
        for index, rule in enumerate(sync.filters.crm):
            properties.get(rule.field, (*path, "filters", "crm", index, "field"))
        _check_associations(report, store, objects, sync, path)
    return report.problems


# --- static ------------------------------------------------------------------------------


def _check_connector(report: _Report, config: Config, sync: SyncConfig, path: Path) -> None:
    connector = config.connectors.get(sync.connector)
    if connector is None:
        if f"connectors.{sync.connector}" not in config._broken:
            known = sorted(config.connectors)
            report.add(
                (*path, "connector"),
                f"no connector {sync.connector}; connectors: {', '.join(known) or '(none)'}",
                nearest(sync.connector, known),
            )
        return
    objects = getattr(connector.options, "objects", None)
    if isinstance(objects, Mapping) and sync.external_object not in objects:
        known = sorted(str(k) for k in objects)
        report.add(
            (*path, "external_object"),
            f"connector {sync.connector} configures no object {sync.external_object};"
            f" objects: {', '.join(known) or '(none)'}",
            nearest(sync.external_object, known),
        )


def _check_flows(report: _Report, sync: SyncConfig, path: Path) -> None:
    for index, field in sync.numbered_fields():
        where = (*path, "fields", index)
        direction = sync.field_direction(field)
        if direction is None:
            report.add(
                (*where, "direction"),
                f"flows {field.direction} but the sync only flows {sync.direction}",
            )
        elif field.conflict is Rule.MANUAL and direction is not Direction.TWO_WAY:
            report.add(
                (*where, "conflict"),
                f"manual needs a two-way field; this one flows {direction} and never conflicts",
            )


def _check_writers(report: _Report, sync: SyncConfig, path: Path) -> None:
    """One CRM property or one external field written by two fields: the last would win
    (the rule is ``mapping.find_clashes``'; here each clash is located in the file)."""
    numbered = sync.numbered_fields()
    writers = [(f.crm_names, f.external, sync.field_direction(f)) for _, f in numbered]
    for clash in find_clashes(writers):
        index, field = numbered[clash.index]
        first = numbered[clash.first][0]
        where = (*path, "fields", index)
        if clash.key == "crm":
            key: Path = (
                (*where, "crm") if isinstance(field.crm, str) else (*where, "crm", clash.position)
            )
            report.add(key, f"CRM property {clash.name} is also written by fields[{first}]")
        else:
            report.add(
                (*where, "external"),
                f"external field {clash.name} overlaps {clash.other}, written by fields[{first}]",
            )


def _check_association_syncs(report: _Report, config: Config, sync: SyncConfig, path: Path) -> None:
    for index, association in enumerate(sync.associations):
        where = (*path, "associations", index)
        _check_carried(report, config, sync, association.external, where)
        if association.sync is not None:
            target = config.syncs.get(association.sync)
            if target is None:
                if f"syncs.{association.sync}" not in config._broken:
                    report.add(
                        (*where, "sync"),
                        f"no sync {association.sync}",
                        nearest(association.sync, config.syncs),
                    )
            elif target.crm_object != association.crm_object:
                report.add(
                    (*where, "sync"),
                    f"sync {association.sync} links {target.crm_object}, not {association.crm_object}",
                )
            continue
        found = sorted(
            other.name
            for other in config.syncs.values()
            if other.connector == sync.connector and other.crm_object == association.crm_object
        )
        if len(found) > 1:
            report.add(
                (*where, "crm_object"),
                f"several syncs on connector {sync.connector} link {association.crm_object}"
                f" ({', '.join(found)}); name one with sync:",
            )
        elif not found and not any(b.startswith("syncs.") for b in config._broken):
            report.add(
                (*where, "crm_object"),
                f"no sync on connector {sync.connector} links {association.crm_object}, so its"
                " ids cannot be resolved; add that sync or name one with sync:",
            )


def _check_carried(
    report: _Report, config: Config, sync: SyncConfig, field_name: str, where: Path
) -> None:
    """The connector can carry this association field (asked of its class: no I/O)."""
    connector = config.connectors.get(sync.connector)
    if connector is None:
        return  # _check_connector reports it
    try:
        cls = connector_class(connector.type)
    except ConnectorError:
        return  # the loader reports an unknown type
    problem = cls.association_problem(connector.options, sync.external_object, field_name)
    if problem is not None:
        report.add((*where, "external"), problem)


# --- against the store -------------------------------------------------------------------


class _Properties:
    """The live properties of one CRM object; an unknown name is reported once, located."""

    def __init__(
        self,
        report: _Report,
        object_name: str,
        live: dict[str, PropertyDef],
        archived: set[str],
    ) -> None:
        self.report = report
        self.object_name = object_name
        self.live = live
        self.archived = archived

    def get(self, name: str, path: Path) -> PropertyDef | None:
        found = self.live.get(name)
        if found is None:
            if name in self.archived:
                self.report.add(path, f"property {name} of {self.object_name} is archived")
            else:
                self.report.add(
                    path,
                    f"{self.object_name} has no property {name}",
                    nearest(name, self.live),
                )
        return found


def _check_field(
    report: _Report, properties: _Properties, sync: SyncConfig, field: FieldConfig, path: Path
) -> None:
    direction = sync.field_direction(field) or field.direction
    kind = "enum" if field.values is not None else (field.transform or "identity")
    # The transform table itself says which property types a transform's values fit.
    transform = TRANSFORMS.get(kind)
    fits = transform.writes if transform is not None else None
    for position, name in enumerate(field.crm_names):
        where: Path = (*path, "crm") if isinstance(field.crm, str) else (*path, "crm", position)
        prop = properties.get(name, where)
        if prop is None:
            continue
        if prop.read_only and direction.to_crm:
            report.add(
                where,
                f"property {name} is read-only; the field can only flow to_external",
            )
        if fits is not None and prop.type not in fits:
            report.add(
                (*path, "values" if field.values is not None else "transform"),
                f"{'a value map' if kind == 'enum' else 'transform ' + kind} does not fit"
                f" {name}, a {prop.type} property (it fits: {', '.join(sorted(fits))})",
            )
            continue
        if field.values is not None:
            _check_targets(report, prop, field, path)


def _check_targets(report: _Report, prop: PropertyDef, field: FieldConfig, path: Path) -> None:
    """Every value a map writes must be an option of the enumeration (or a boolean word)."""
    if prop.type == "enumeration":
        options: Sequence[str] = sorted(prop.option_values)
    elif prop.type == "bool":
        options = _BOOL_VALUES
    else:
        return
    assert field.values is not None
    for external, crm in field.values.items():
        if crm not in options:
            report.add(
                (*path, "values", external),
                f"{crm} is not an option of {prop.name}; options: {', '.join(options)}",
                nearest(crm, options),
            )
    if field.unmapped == "default" and field.default is not None and field.default not in options:
        report.add(
            (*path, "default"),
            f"{field.default} is not an option of {prop.name}",
            nearest(field.default, options),
        )


def _check_match(report: _Report, properties: _Properties, sync: SyncConfig, path: Path) -> None:
    if sync.match is None:
        return
    prop = properties.get(sync.match.crm, (*path, "match", "crm"))
    if prop is None or prop.unique:
        return
    unique = sorted(p.name for p in properties.live.values() if p.unique)
    named = f"unique properties: {', '.join(unique)}" if unique else "it has no unique property"
    report.add(
        (*path, "match", "crm"),
        f"{prop.name} is not unique, so a match could find several records; {named}",
        unique[0] if len(unique) == 1 else None,
    )


def _check_associations(
    report: _Report, store: Store, objects: list[str], sync: SyncConfig, path: Path
) -> None:
    for index, association in enumerate(sync.associations):
        where = (*path, "associations", index)
        if association.crm_object not in objects:
            report.add(
                (*where, "crm_object"),
                f"no CRM object {association.crm_object}",
                nearest(association.crm_object, objects),
            )
            continue
        labels = store.list_labels(sync.crm_object, association.crm_object)
        if not labels:
            report.add(
                (*where, "crm_object"),
                f"no association type between {sync.crm_object} and {association.crm_object}",
            )
            continue
        named = sorted(label.label for label in labels if label.label)
        if association.label is not None and association.label not in named:
            report.add(
                (*where, "label"),
                f"no label {association.label} from {sync.crm_object} to"
                f" {association.crm_object}; labels: {', '.join(named) or '(none)'}",
                nearest(association.label, named),
            )
