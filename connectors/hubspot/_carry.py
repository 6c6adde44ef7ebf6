"""What a HubSpot write carries and what a read brings: association fields and read-only
properties.

HubSpot keeps associations apart from properties. The properties that mirror one (a
contact's ``associatedcompanyid``) are read-only: sending one, even as ``""``, fails the
whole create or update. So an object's association fields (``associations:`` in its
options) are read through the v4 batch read into each record's fields, and written through
the v4 create / archive endpoints after the record's properties were written; and a property
HubSpot defines as read-only (``modificationMetadata.readOnlyValue``) is never sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connectors.base import ExternalRecord, WriteOutcome, WriteResult

from ._options import HubSpotAssociationOptions, HubSpotObjectOptions

if TYPE_CHECKING:
    from .connector import HubSpotConnector

__all__ = ["fill_associations", "read_only", "split_fields", "write_associations"]

#: Per request position: the record's id and the association fields it asked for.
Wanted = list[tuple[int, str, dict[str, str | None]]]


def read_only(definitions: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """The names HubSpot refuses to write: read-only values and calculated properties."""
    names: set[str] = set()
    for item in definitions:
        meta = item.get("modificationMetadata")
        flagged = isinstance(meta, Mapping) and meta.get("readOnlyValue") is True
        if flagged or item.get("calculated") is True:
            names.add(str(item["name"]))
    return frozenset(names)


def split_fields(
    obj: HubSpotObjectOptions, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """A request's fields as (properties, association field -> the other record's id)."""
    props: dict[str, Any] = {}
    links: dict[str, str | None] = {}
    for name, value in fields.items():
        if name in obj.associations:
            links[name] = None if value in (None, "") else str(value)
        else:
            props[name] = value
    return props, links


def _labelled(assoc: HubSpotAssociationOptions, labels: Sequence[str]) -> bool:
    if assoc.label is None:
        return True
    return assoc.label.lower() in (label.lower() for label in labels)


def _targets(
    assoc: HubSpotAssociationOptions, found: Sequence[tuple[str, Sequence[str]]]
) -> list[str]:
    return sorted({to for to, labels in found if _labelled(assoc, labels)}, key=int)


def fill_associations(
    connector: HubSpotConnector,
    external_object: str,
    obj: HubSpotObjectOptions,
    records: Sequence[ExternalRecord],
) -> list[ExternalRecord]:
    """Each live record with its association fields: the lowest associated id, or None.

    One v4 batch read per association field for the whole page.
    """
    live = [r.id for r in records if not r.deleted]
    if not obj.associations or not live:
        return list(records)
    extra: dict[str, dict[str, str | None]] = {rid: {} for rid in live}
    for name, assoc in obj.associations.items():
        found = connector.read_associations(external_object, live, assoc.to)
        for rid in live:
            targets = _targets(assoc, found.get(rid, []))
            extra[rid][name] = targets[0] if targets else None
    return [replace(r, fields={**r.fields, **extra[r.id]}) if r.id in extra else r for r in records]


def write_associations(
    connector: HubSpotConnector,
    external_object: str,
    obj: HubSpotObjectOptions,
    wanted: Wanted,
    out: list[WriteResult | None],
) -> None:
    """Make each written record's association fields true in HubSpot.

    Per association field: the records' current associations (one batch read), then the
    ones that are not the wanted id removed (that label only, when labelled) and the wanted
    one created. A failure turns that request's result into a failure with HubSpot's reason
    (retriable when HubSpot's was), so the engine does not believe the association moved.
    """
    for name, assoc in obj.associations.items():
        asked = [(pos, rid, links[name]) for pos, rid, links in wanted if name in links]
        asked = [(pos, rid, to) for pos, rid, to in asked if _ok(out[pos])]
        if not asked:
            continue
        current = connector.read_associations(
            external_object, [rid for _, rid, _ in asked], assoc.to
        )
        labels = [assoc.label] if assoc.label else []
        removals: list[tuple[int, tuple[str, str, Sequence[str]]]] = []
        creates: list[tuple[int, tuple[str, str, Sequence[str]]]] = []
        for pos, rid, to in asked:
            have = _targets(assoc, current.get(rid, []))
            removals.extend((pos, (rid, old, labels)) for old in have if old != to)
            if to is not None and to not in have:
                creates.append((pos, (rid, to, labels)))
        if removals:
            done = connector.remove_associations(
                external_object, assoc.to, [link for _, link in removals]
            )
            _merge(out, [pos for pos, _ in removals], done, name)
        if creates:
            done = connector.write_associations(
                external_object, assoc.to, [link for _, link in creates]
            )
            _merge(out, [pos for pos, _ in creates], done, name)


def _ok(result: WriteResult | None) -> bool:
    return result is not None and result.outcome is not WriteOutcome.FAILED


def _merge(
    out: list[WriteResult | None], positions: list[int], done: list[WriteResult], name: str
) -> None:
    for pos, result in zip(positions, done, strict=True):
        current = out[pos]
        if result.ok or current is None or not current.ok:
            continue
        out[pos] = WriteResult(
            WriteOutcome.FAILED,
            external_id=current.external_id,
            error=f"{name}: {result.error}",
            retriable=result.retriable,
        )
