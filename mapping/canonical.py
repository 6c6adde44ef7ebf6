"""One spelling on both sides: where a clean-up transform's sides differ only in spelling.

A ``lowercase`` email matched by value finds ``Ada@X.io`` in the CRM for ``ADA@x.io``
outside: the same address, spelled three ways. Both sides should hold the transform's one
spelling (``ada@x.io``) after the pass that links them, rather than a diff that sees no
change on one side and a conflict on the other. These functions find those fields; the
engine writes the spelling to the side that lacks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mapping.errors import MappingError
from mapping.fields import FieldMapping, map_to_external
from mapping.paths import MISSING, get_path

__all__ = ["crm_respelled", "external_respelled"]


def _canonical(mapping: FieldMapping) -> bool:
    return mapping.transform.canonical and mapping.transform.arity == 1 and len(mapping.crm) == 1


def _same_but_spelling(mapping: FieldMapping, spelled: object, canonical: str) -> bool:
    if not isinstance(spelled, str) or spelled == canonical:
        return False
    try:
        return mapping.transform.to_crm(spelled) == canonical
    except MappingError:
        return False


def crm_respelled(
    mappings: Sequence[FieldMapping],
    crm: Mapping[str, str | None],
    external: Mapping[str, str | None],
) -> dict[str, str | None]:
    """CRM properties whose value is the external one (CRM form) spelled otherwise:
    ``{property: the CRM's spelling}``, to use as the base of a first match so the diff
    writes the one spelling into the CRM instead of seeing two different values."""
    found: dict[str, str | None] = {}
    for mapping in mappings:
        if not _canonical(mapping) or not mapping.to_crm:
            continue
        name = mapping.crm[0]
        value, wanted = crm.get(name), external.get(name)
        if (
            isinstance(value, str)
            and wanted is not None
            and _same_but_spelling(mapping, value, wanted)
        ):
            found[name] = value
    return found


def external_respelled(
    mappings: Sequence[FieldMapping],
    crm: Mapping[str, str | None],
    external_record: Mapping[str, object],
) -> dict[str, object]:
    """The external fields (as ``map_to_external`` shapes them) whose raw value is the
    CRM's spelled otherwise, with the CRM's spelling: what to write outside."""
    touched = []
    for mapping in mappings:
        if not _canonical(mapping) or not mapping.to_external or not mapping.external:
            continue
        value = crm.get(mapping.crm[0])
        raw = get_path(external_record, mapping.external)
        if value is None or raw is MISSING:
            continue
        if _same_but_spelling(mapping, raw, value):
            touched.append(mapping)
    if not touched:
        return {}
    return map_to_external(tuple(touched), crm)
