"""Properties the store keeps up to date itself, and the automatic activity associations.

Kept current in the write path, at the end of every transaction that touched associations,
activities or archived records, for exactly the records touched; written with source
CALCULATED so history and the journal say who changed them.

- ``num_associated_contacts`` / ``num_associated_deals``: live associated records.
- ``notes_last_updated`` (Last Activity Date): latest ``hs_timestamp`` of any live activity.
- ``notes_last_contacted`` (Last Contacted): latest of calls, emails and meetings.
- ``associatedcompanyid``: the contact's primary company.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from store.associations.sql import PRIMARY, associate, list_labels
from store.db import tables as t
from store.db.builtin import COUNT_PROPERTIES
from store.db.catalog import LoadedObject, load_objects
from store.db.chunks import chunks
from store.db.tx import Tx
from store.models import ChangeSource, SourceType
from store.records.sql import update_records

__all__ = ["link_activity_to_primary_company", "refresh_calculated"]

CALCULATED = ChangeSource(SourceType.CALCULATED, "store")
ACTIVITIES = ("notes", "calls", "emails", "meetings", "tasks")
CONTACTING = ("calls", "emails", "meetings")


def link_activity_to_primary_company(
    tx: Tx, activity: LoadedObject, activity_id: int, contact_id: int
) -> None:
    """An activity logged on a contact is logged on the contact's primary company too."""
    contacts, companies = tx.object("contacts"), tx.object("companies")
    primary = [x for x in list_labels(tx.connection, contacts, companies) if x.label == PRIMARY]
    if not primary:
        return
    company_id = tx.connection.scalar(
        select(t.associations.c.to_record_id)
        .join(t.records, t.records.c.id == t.associations.c.to_record_id)
        .where(
            t.associations.c.from_record_id == contact_id,
            t.associations.c.type_id == primary[0].type_id,
            t.records.c.archived.is_(False),
        )
    )
    if company_id is not None:
        associate(tx, activity, activity_id, companies, company_id)


def refresh_calculated(tx: Tx) -> None:
    """Recompute the calculated properties of every record this transaction made dirty."""
    rounds = 0
    while tx.dirty and rounds < 3:
        rounds += 1
        dirty, tx.dirty = sorted(tx.dirty), set()
        _refresh(tx, dirty)
    tx.dirty.clear()


def _refresh(tx: Tx, ids: Sequence[int]) -> None:
    conn = tx.connection
    objects = {o.id: o for o in load_objects(conn)}  # one load, not one per object
    by_name = {o.name: o for o in objects.values()}
    owners: dict[int, LoadedObject] = {}
    # An activity that changed dirties the records it is logged on.
    activity_type_ids = {by_name[n].id for n in ACTIVITIES if n in by_name}
    targets: set[int] = set()
    for chunk in chunks(list(ids), 1000):
        for rid, type_id in conn.execute(
            select(t.records.c.id, t.records.c.object_type_id).where(t.records.c.id.in_(chunk))
        ):
            owners[rid] = objects[type_id]
            if type_id in activity_type_ids:
                targets.update(
                    conn.scalars(
                        select(t.associations.c.to_record_id).where(
                            t.associations.c.from_record_id == rid
                        )
                    )
                )
            else:
                targets.add(rid)
    for chunk in chunks(sorted(targets - set(owners)), 1000):
        for rid, type_id in conn.execute(
            select(t.records.c.id, t.records.c.object_type_id).where(t.records.c.id.in_(chunk))
        ):
            owners[rid] = objects[type_id]
    wanted = {
        rid
        for rid in targets
        if rid in owners
        and _calculated_names(owners[rid])
        and owners[rid].id not in activity_type_ids
    }
    if not wanted:
        return
    linked: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # rid -> (to, type, obj)
    a, r = t.associations, t.records
    activity_ids: set[int] = set()
    for chunk in chunks(sorted(wanted), 1000):
        for src, dst, type_id, obj_type in conn.execute(
            select(a.c.from_record_id, a.c.to_record_id, a.c.type_id, r.c.object_type_id)
            .join(r, r.c.id == a.c.to_record_id)
            .where(a.c.from_record_id.in_(chunk), r.c.archived.is_(False))
        ):
            linked[src].append((dst, type_id, obj_type))
            if obj_type in activity_type_ids:
                activity_ids.add(dst)
    stamps: dict[int, str] = {}
    for chunk in chunks(sorted(activity_ids), 1000):
        for rid, props in conn.execute(select(r.c.id, r.c.properties).where(r.c.id.in_(chunk))):
            if props.get("hs_timestamp"):
                stamps[rid] = props["hs_timestamp"]
    primary_types = (
        {
            x.type_id
            for x in list_labels(conn, by_name["contacts"], by_name["companies"])
            if x.label == PRIMARY
        }
        if "contacts" in by_name and "companies" in by_name
        else set()
    )

    updates: dict[str, list[tuple[int, dict[str, object]]]] = defaultdict(list)
    current = {
        rid: props
        for chunk in chunks(sorted(wanted), 1000)
        for rid, props in conn.execute(select(r.c.id, r.c.properties).where(r.c.id.in_(chunk)))
    }
    for rid in sorted(wanted):
        obj = owners[rid]
        names = _calculated_names(obj)
        links = linked.get(rid, [])
        values: dict[str, str | None] = {}
        for prop, counted in COUNT_PROPERTIES.items():
            if prop in names and counted in by_name:
                values[prop] = str(len({d for d, _, o in links if o == by_name[counted].id}))
        activity_names = {by_name[n].id: n for n in ACTIVITIES if n in by_name}
        times = [
            (activity_names[o], stamps[d])
            for d, _, o in links
            if o in activity_names and d in stamps
        ]
        if "notes_last_updated" in names:
            values["notes_last_updated"] = max((s for _, s in times), default=None)
        if "notes_last_contacted" in names:
            values["notes_last_contacted"] = max(
                (s for n, s in times if n in CONTACTING), default=None
            )
        if "associatedcompanyid" in names:
            primary = sorted(d for d, type_id, _ in links if type_id in primary_types)
            values["associatedcompanyid"] = str(primary[0]) if primary else None
        have = current.get(rid, {})
        changed = {k: v for k, v in values.items() if _stored(have, k) != v}
        if changed:
            updates[obj.name].append(
                (rid, {k: ("" if v is None else v) for k, v in changed.items()})
            )
    for name, batch in updates.items():
        update_records(tx, by_name[name], batch, CALCULATED)


_MAINTAINED = (
    *COUNT_PROPERTIES,
    "notes_last_updated",
    "notes_last_contacted",
    "associatedcompanyid",
)


def _stored(props: dict[str, str], name: str) -> str | None:
    """A calculated value as records read it: a count never set is 0."""
    return props.get(name, "0" if name in COUNT_PROPERTIES else None)


def _calculated_names(obj: LoadedObject) -> set[str]:
    return {n for n in _MAINTAINED if n in obj.properties}
