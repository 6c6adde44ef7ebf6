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

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, tuple_, update

from store.db import tables as t
from store.db.catalog import LoadedObject, suggest
from store.db.tx import Tx
from store.errors import NotFoundError, SchemaError, ValidationError
from store.models import Association, AssociationLabel
from store.records.sql import lock_records, record_not_found
from store.schema.sql import add_default_association, next_association_type_id

__all__ = [
    "MAX_LABELS_PER_PAIR",
    "associate",
    "create_label",
    "define_association",
    "delete_definition",
    "delete_label",
    "dissociate",
    "labels_between",
    "labels_from",
    "list_associations",
    "list_associations_page",
    "list_labels",
    "update_label",
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


# ---------------------------------------------------------------- label and definition admin


def labels_from(conn: Connection, obj: LoadedObject) -> list[AssociationLabel]:
    """Every association type starting at ``obj``, towards any object, by type id."""
    at = t.association_types
    names = _object_names(conn)
    rows = conn.execute(select(at).where(at.c.from_object_type_id == obj.id).order_by(at.c.type_id))
    return [_label_from_row(r, names) for r in rows]


def _user_label(
    conn: Connection, a: LoadedObject, b: LoadedObject, type_id: int
) -> AssociationLabel:
    for found in list_labels(conn, a, b):
        if found.type_id == type_id:
            if found.category != "USER_DEFINED":
                raise SchemaError(
                    f"association type {type_id} from {a.name} to {b.name} is "
                    f"{found.category}; only USER_DEFINED labels can be changed or deleted"
                )
            return found
    raise NotFoundError(
        f"no association label with type id {type_id} from {a.name} to {b.name}", object=a.name
    )


def _check_label_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip() or len(text) > 100:
        raise SchemaError("an association label is 1 to 100 characters")


def update_label(
    tx: Tx, a: LoadedObject, b: LoadedObject, type_id: int, label: str, inverse: str | None = None
) -> list[AssociationLabel]:
    """Rename a user-defined label; an unpaired label is renamed both ways unless told apart.

    The types keep their ids and names, so associations carrying them keep their meaning.
    """
    current = _user_label(tx.connection, a, b, type_id)
    _check_label_text(label)
    if inverse is not None:
        _check_label_text(inverse)
    forward = list_labels(tx.connection, a, b)
    if any(x.label and x.label.lower() == label.lower() and x.type_id != type_id for x in forward):
        raise SchemaError(f"label {label!r} from {a.name} to {b.name} already exists")
    at = t.association_types
    tx.connection.execute(update(at).where(at.c.type_id == type_id).values(label=label))
    if current.inverse_type_id != type_id:
        back = next(
            x for x in list_labels(tx.connection, b, a) if x.type_id == current.inverse_type_id
        )
        paired = back.label != current.label
        new_back = inverse if inverse is not None else (back.label if paired else label)
        clash = [
            x
            for x in list_labels(tx.connection, b, a)
            if x.label
            and new_back
            and x.label.lower() == new_back.lower()
            and x.type_id != back.type_id
        ]
        if clash:
            raise SchemaError(f"label {new_back!r} from {b.name} to {a.name} already exists")
        tx.connection.execute(update(at).where(at.c.type_id == back.type_id).values(label=new_back))
    ids = {type_id, current.inverse_type_id}
    both = [*list_labels(tx.connection, a, b), *list_labels(tx.connection, b, a)]
    found = {x.type_id: x for x in both if x.type_id in ids}
    return [found[i] for i in sorted(found)]


def _in_use(conn: Connection, type_ids: Sequence[int]) -> int:
    a_t = t.associations
    return int(
        conn.execute(
            select(func.count()).select_from(a_t).where(a_t.c.type_id.in_(list(type_ids)))
        ).scalar_one()
    )


def _drop_types(tx: Tx, what: str, type_ids: Sequence[int]) -> None:
    used = _in_use(tx.connection, type_ids)
    if used:
        raise SchemaError(
            f"{what} is in use by {used // 2 or 1} association(s); remove them from the "
            "records first"
        )
    at = t.association_types
    tx.connection.execute(delete(at).where(at.c.type_id.in_(list(type_ids))))


def delete_label(tx: Tx, a: LoadedObject, b: LoadedObject, type_id: int) -> None:
    """Delete a user-defined label (both directions); refused while records carry it."""
    current = _user_label(tx.connection, a, b, type_id)
    _drop_types(
        tx,
        f"label {current.label!r} from {a.name} to {b.name}",
        sorted({type_id, current.inverse_type_id}),
    )


def define_association(
    tx: Tx, a: LoadedObject, b: LoadedObject, name: str | None = None
) -> AssociationLabel:
    """Allow ``a`` and ``b`` to be associated (the unlabelled type both ways); idempotent.

    A ``name`` is kept on the a→b type when it has none yet.
    """
    if name is not None and (not name.strip() or len(name) > 100):
        raise SchemaError("an association definition name is 1 to 100 characters")
    add_default_association(tx, a, b)
    default = _resolve(tx.connection, a, b, None)
    if name is not None and default.name is None:
        at = t.association_types
        tx.connection.execute(update(at).where(at.c.type_id == default.type_id).values(name=name))
        default = _resolve(tx.connection, a, b, None)
    return default


def delete_definition(tx: Tx, obj: LoadedObject, type_id: int) -> None:
    """Remove an association definition (both directions) that has a custom object on a side.

    Refused for definitions between standard objects, while records use it, and for the
    unlabelled type while labels between the same pair still need it.
    """
    found = next(
        (
            x
            for x in _all_types(tx.connection)
            if x.type_id == type_id and obj.name in (x.from_object, x.to_object)
        ),
        None,
    )
    if found is None:
        raise NotFoundError(f"{obj.name} has no association definition {type_id}", object=obj.name)
    a, b = tx.object(found.from_object), tx.object(found.to_object)
    if not (a.schema.custom or b.schema.custom):
        raise SchemaError(
            f"association {type_id} is between standard objects ({a.name}, {b.name}) "
            "and cannot be removed"
        )
    ids = sorted({found.type_id, found.inverse_type_id})
    if found.label is None:
        labelled = [x for x in list_labels(tx.connection, a, b) if x.label is not None]
        if labelled:
            raise SchemaError(
                f"the {a.name}-{b.name} association still has labels "
                f"({', '.join(str(x.label) for x in labelled)}); delete them first"
            )
    _drop_types(tx, f"association definition {type_id}", ids)


def _all_types(conn: Connection) -> list[AssociationLabel]:
    names = _object_names(conn)
    return [
        _label_from_row(r, names)
        for r in conn.execute(select(t.association_types).order_by(t.association_types.c.type_id))
    ]


def list_associations_page(
    conn: Connection,
    obj: LoadedObject,
    record_id: int,
    to: LoadedObject,
    *,
    after: int = 0,
    limit: int = 500,
) -> tuple[list[Association], int | None]:
    """One page of a record's associations with live ``to`` records, by other record id.

    Returns the page and the id to continue after, or None when this was the last page.
    """
    a, r = t.associations, t.records
    ids = list(
        conn.scalars(
            select(a.c.to_record_id)
            .join(r, r.c.id == a.c.to_record_id)
            .where(
                a.c.from_record_id == record_id,
                a.c.to_record_id > after,
                r.c.object_type_id == to.id,
                r.c.archived.is_(False),
            )
            .group_by(a.c.to_record_id)
            .order_by(a.c.to_record_id)
            .limit(limit + 1)
        )
    )
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return [], None
    at = t.association_types
    names = {obj.id: obj.name, to.id: to.name}
    grouped: dict[int, list[AssociationLabel]] = defaultdict(list)
    for row in conn.execute(
        select(a.c.to_record_id, at)
        .join(at, at.c.type_id == a.c.type_id)
        .where(a.c.from_record_id == record_id, a.c.to_record_id.in_(ids))
        .order_by(a.c.to_record_id, a.c.type_id)
    ):
        grouped[row.to_record_id].append(_label_from_row(row, names))
    page = [Association(obj.name, record_id, to.name, i, tuple(grouped[i])) for i in ids]
    return page, (ids[-1] if more else None)


def labels_between(
    conn: Connection, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int
) -> list[AssociationLabel]:
    """The types one record carries towards one other record, seen from ``a``."""
    a_t, at = t.associations, t.association_types
    names = {a.id: a.name, b.id: b.name}
    rows = conn.execute(
        select(at)
        .join(a_t, a_t.c.type_id == at.c.type_id)
        .where(
            a_t.c.from_record_id == a_id,
            a_t.c.to_record_id == b_id,
            at.c.from_object_type_id == a.id,
            at.c.to_object_type_id == b.id,
        )
        .order_by(at.c.type_id)
    )
    return [_label_from_row(r, names) for r in rows]
