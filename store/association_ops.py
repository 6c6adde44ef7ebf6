"""Associations: typed, labelled links between records, stored in both directions.

Each link is two rows (A→B with a type, B→A with its inverse type), so listing a record's
associations is one indexed lookup whichever side asks. Any labelled association also
carries the pair's default (unlabelled) type, as in HubSpot, so removing the default
removes the association entirely.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, tuple_

from store import tables as t
from store._tx import Tx
from store.catalog import LoadedObject, suggest
from store.errors import NotFoundError, SchemaError, ValidationError
from store.models import Association, AssociationLabel
from store.record_ops import lock_records, record_not_found
from store.schema_ops import next_association_type_id

__all__ = [
    "MAX_LABELS_PER_PAIR",
    "associate",
    "create_label",
    "dissociate",
    "list_associations",
    "list_labels",
]

MAX_LABELS_PER_PAIR = 10
PRIMARY = "Primary"


def _label_from_row(row: Any, names: dict[int, str]) -> AssociationLabel:
    return AssociationLabel(
        type_id=row.type_id,
        from_object=names[row.from_object_type_id],
        to_object=names[row.to_object_type_id],
        label=row.label,
        name=row.name,
        category=row.category,
        inverse_type_id=row.inverse_type_id,
    )


def _object_names(conn: Connection) -> dict[int, str]:
    ot = t.object_types
    return {object_id: name for object_id, name in conn.execute(select(ot.c.id, ot.c.name))}


def list_labels(conn: Connection, a: LoadedObject, b: LoadedObject) -> list[AssociationLabel]:
    at = t.association_types
    names = {a.id: a.name, b.id: b.name}
    rows = conn.execute(
        select(at)
        .where(at.c.from_object_type_id == a.id, at.c.to_object_type_id == b.id)
        .order_by(at.c.type_id)
    )
    return [_label_from_row(r, names) for r in rows]


def _resolve(
    conn: Connection, a: LoadedObject, b: LoadedObject, label: str | None
) -> AssociationLabel:
    if label is not None and not isinstance(label, str):
        raise ValidationError(a.name, "associations", label, "an association label is text")
    labels = list_labels(conn, a, b)
    if not labels:
        raise ValidationError(
            a.name, "associations", b.name, f"{a.name} cannot be associated with {b.name}"
        )
    for found in labels:
        if (found.label is None and label is None) or (
            label is not None and found.label is not None and found.label.lower() == label.lower()
        ):
            return found
    known = [x.label for x in labels if x.label]
    raise NotFoundError(
        f"no association label {label!r} from {a.name} to {b.name}"
        f"{suggest(label or '', known)}; labels: {', '.join(known) or '(none)'}",
        object=a.name,
    )


def create_label(
    tx: Tx, a: LoadedObject, b: LoadedObject, label: str, inverse: str | None = None
) -> list[AssociationLabel]:
    """A user-defined label from ``a`` to ``b`` (and its inverse, or the same label back)."""
    for text in (label, inverse):
        if text is not None and (not text.strip() or len(text) > 100):
            raise SchemaError("an association label is 1 to 100 characters")
    existing = list_labels(tx.connection, a, b)
    if not any(x.label is None for x in existing):
        raise SchemaError(f"{a.name} cannot be associated with {b.name}; allow the pair first")
    taken = {x.label.lower() for x in existing if x.label}
    if label.lower() in taken:
        raise SchemaError(f"label {label!r} from {a.name} to {b.name} already exists")
    user = [x for x in existing if x.category == "USER_DEFINED"]
    if len(user) >= MAX_LABELS_PER_PAIR:
        raise SchemaError(f"at most {MAX_LABELS_PER_PAIR} labels between {a.name} and {b.name}")
    if inverse is not None and inverse.lower() == label.lower():
        inverse = None
    first = next_association_type_id(tx)
    rows: list[tuple[int, LoadedObject, LoadedObject, str, int]]
    if a.id == b.id and inverse is None:
        rows = [(first, a, b, label, first)]
    else:
        rows = [(first, a, b, label, first + 1), (first + 1, b, a, inverse or label, first)]
    tx.connection.execute(
        insert(t.association_types),
        [
            {
                "type_id": type_id,
                "from_object_type_id": src.id,
                "to_object_type_id": dst.id,
                "label": text,
                "name": _label_name(text),
                "category": "USER_DEFINED",
                "inverse_type_id": inv,
            }
            for type_id, src, dst, text, inv in rows
        ],
    )
    return [x for x in list_labels(tx.connection, a, b) if x.type_id in (first, first + 1)]


def _label_name(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.strip().lower())[:100]


def associate(
    tx: Tx,
    a: LoadedObject,
    a_id: int,
    b: LoadedObject,
    b_id: int,
    label: str | None = None,
) -> AssociationLabel:
    """Link two live records with a label (and the pair's default type), both directions."""
    _require_live(tx, a, [a_id])
    _require_live(tx, b, [b_id])
    if a.id == b.id and a_id == b_id:
        raise ValidationError(
            a.name, "associations", a_id, "a record cannot be associated with itself"
        )
    chosen = _resolve(tx.connection, a, b, label)
    types = [chosen]
    if chosen.label is not None:
        types.insert(0, _resolve(tx.connection, a, b, None))
    if chosen.label == PRIMARY and chosen.name == "PRIMARY":
        # The record that has one primary company is the one on the non-company side.
        if b.name == "companies":
            _drop_other_primary(tx, a, a_id, b_id, chosen)
        else:
            _drop_other_primary(tx, b, b_id, a_id, _resolve(tx.connection, b, a, PRIMARY))
    added = _add(tx, [(a_id, b_id, x) for x in types])
    for src, dst, type_ in added:
        src_obj, dst_obj = (a, b) if src == a_id else (b, a)
        tx.journal(
            src_obj.name,
            src,
            "associate",
            {
                "to_object": dst_obj.name,
                "to_id": dst,
                "type_id": type_.type_id,
                "label": type_.label,
            },
        )
    tx.dirty.update({a_id, b_id})
    return chosen


def _require_live(tx: Tx, obj: LoadedObject, ids: Sequence[int]) -> None:
    found = lock_records(tx, obj, ids)
    for record_id in ids:
        if record_id not in found:
            raise record_not_found(obj, record_id)


def _add(
    tx: Tx, links: list[tuple[int, int, AssociationLabel]]
) -> list[tuple[int, int, AssociationLabel]]:
    """Insert the missing rows of these links (each both ways); returns the rows added."""
    wanted: dict[tuple[int, int, int], tuple[int, int, AssociationLabel]] = {}
    for src, dst, type_ in links:
        wanted[(src, dst, type_.type_id)] = (src, dst, type_)
        inverse = AssociationLabel(
            type_id=type_.inverse_type_id,
            from_object=type_.to_object,
            to_object=type_.from_object,
            label=type_.label,
            name=type_.name,
            category=type_.category,
            inverse_type_id=type_.type_id,
        )
        wanted.setdefault((dst, src, inverse.type_id), (dst, src, inverse))
    a = t.associations
    have = {
        tuple(row)
        for row in tx.connection.execute(
            select(a.c.from_record_id, a.c.to_record_id, a.c.type_id).where(
                tuple_(a.c.from_record_id, a.c.to_record_id, a.c.type_id).in_(list(wanted))
            )
        )
    }
    missing = [v for k, v in wanted.items() if k not in have]
    if missing:
        tx.connection.execute(
            insert(a),
            [
                {"from_record_id": s, "to_record_id": d, "type_id": x.type_id, "created_at": tx.now}
                for s, d, x in missing
            ],
        )
    return missing


def _drop_other_primary(
    tx: Tx, a: LoadedObject, a_id: int, b_id: int, primary: AssociationLabel
) -> None:
    """A record has one primary company: moving it keeps the old one as a plain association."""
    a_t = t.associations
    others = tx.connection.scalars(
        select(a_t.c.to_record_id).where(
            a_t.c.from_record_id == a_id,
            a_t.c.type_id == primary.type_id,
            a_t.c.to_record_id != b_id,
        )
    ).all()
    for other in others:
        _remove(tx, a_id, other, [primary.type_id, primary.inverse_type_id])
        tx.journal(
            a.name,
            a_id,
            "dissociate",
            {
                "to_object": primary.to_object,
                "to_id": other,
                "type_id": primary.type_id,
                "label": PRIMARY,
            },
        )
        tx.dirty.add(other)


def _remove(tx: Tx, x: int, y: int, type_ids: list[int]) -> int:
    a = t.associations
    result = tx.connection.execute(
        delete(a).where(
            or_(
                and_(a.c.from_record_id == x, a.c.to_record_id == y),
                and_(a.c.from_record_id == y, a.c.to_record_id == x),
            ),
            a.c.type_id.in_(type_ids),
        )
    )
    return int(result.rowcount or 0)


def dissociate(
    tx: Tx, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int, label: str | None = None
) -> int:
    """Remove one label (and its inverse), or with no label every link between the two."""
    a_t = t.associations
    if label is None:
        rows = tx.connection.execute(
            select(a_t.c.from_record_id, a_t.c.type_id).where(
                or_(
                    and_(a_t.c.from_record_id == a_id, a_t.c.to_record_id == b_id),
                    and_(a_t.c.from_record_id == b_id, a_t.c.to_record_id == a_id),
                )
            )
        ).all()
        type_ids = [type_id for _, type_id in rows]
        labels = {x.type_id: x for x in list_labels(tx.connection, a, b)}
        # Journal each label as seen from a: on a self-pair (contact to contact) the rows
        # from b carry the same or the inverse label, which would repeat or mislabel it.
        removed_labels = [labels[i] for src, i in rows if src == a_id and i in labels]
    else:
        chosen = _resolve(tx.connection, a, b, label)
        type_ids = [chosen.type_id, chosen.inverse_type_id]
        removed_labels = [chosen]
    removed = _remove(tx, a_id, b_id, type_ids)
    if removed:
        for x in removed_labels:
            tx.journal(
                a.name, a_id, "dissociate",
                {"to_object": b.name, "to_id": b_id, "type_id": x.type_id, "label": x.label},
            )  # fmt: skip
        tx.dirty.update({a_id, b_id})
    return removed


def list_associations(
    conn: Connection, obj: LoadedObject, record_id: int, to: LoadedObject | None = None
) -> list[Association]:
    """A live record's associations with live records, grouped per other record."""
    a, r, at = t.associations, t.records, t.association_types
    query = (
        select(a.c.to_record_id, r.c.object_type_id, at)
        .join(r, r.c.id == a.c.to_record_id)
        .join(at, at.c.type_id == a.c.type_id)
        .where(a.c.from_record_id == record_id, r.c.archived.is_(False))
        .order_by(a.c.to_record_id, a.c.type_id)
    )
    if to is not None:
        query = query.where(r.c.object_type_id == to.id)
    names = _object_names(conn)
    grouped: dict[tuple[str, int], list[AssociationLabel]] = defaultdict(list)
    for row in conn.execute(query):
        grouped[(names[row.object_type_id], row.to_record_id)].append(_label_from_row(row, names))
    return [
        Association(obj.name, record_id, to_object, to_id, tuple(labels))
        for (to_object, to_id), labels in grouped.items()
    ]
