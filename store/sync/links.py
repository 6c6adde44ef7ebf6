"""Links: which CRM record each external record of a sync stands for, and their agreed base."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    select,
    update,
)

from store.db import bulk
from store.db import tables as t
from store.db.chunks import chunks
from store.db.jsoncodec import dumps_texts
from store.errors import LinkConflictError, StoreError
from store.sync.models import (
    Link,
    LinkWrite,
)
from store.sync.rows import CHUNK

__all__ = [
    "delete_links",
    "link_from_row",
    "links_by_crm",
    "links_by_external",
    "relink",
    "save_links",
]

_MAX_EXTERNAL_ID = 400


def link_from_row(row: Mapping[Any, Any]) -> Link:
    return Link(
        sync=row["sync"],
        external_id=row["external_id"],
        crm_object=row["crm_object"],
        crm_id=row["crm_id"],
        base=dict(row["base"]),
        external_updated_at=row["external_updated_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        external_version=row["external_version"],
    )


def _links_by(conn: Connection, sync: str, column: str, keys: Sequence[Any]) -> dict[Any, Link]:
    """The sync's links whose ``column`` is one of ``keys``, keyed by it in key order: a query
    per chunk (ordered, so callers see the same order on both databases, whatever order an
    update left the rows in)."""
    sl = t.sync_links
    found: dict[Any, Link] = {}
    for chunk in chunks(sorted(set(keys)), CHUNK):
        for row in conn.execute(
            select(sl).where(sl.c.sync == sync, sl.c[column].in_(chunk)).order_by(sl.c[column])
        ).mappings():
            found[row[column]] = link_from_row(row)
    return found


def links_by_external(conn: Connection, sync: str, external_ids: Sequence[str]) -> dict[str, Link]:
    return _links_by(conn, sync, "external_id", external_ids)


def links_by_crm(conn: Connection, sync: str, crm_ids: Sequence[int]) -> dict[int, Link]:
    return _links_by(conn, sync, "crm_id", crm_ids)


def save_links(
    conn: Connection,
    sync: str,
    crm_object: str,
    links: Sequence[LinkWrite],
    now: datetime,
    *,
    fresh: Collection[int] = (),
) -> None:
    """Create or replace links by (sync, external id); a replaced link keeps its created_at.

    Checked before writing, so a refusal leaves the transaction usable (PostgreSQL aborts a
    transaction on a constraint violation): a CRM record may hold one link per sync, and a
    link moves to another CRM record only if that one holds none. ``fresh`` CRM ids are
    records the caller's transaction created, which no stored link can name yet: the
    database is not asked about them.
    """
    if not links:
        return
    by_external: dict[str, LinkWrite] = {}
    by_crm: dict[int, str] = {}
    for link in links:
        if (
            not isinstance(link.external_id, str)
            or not 0 < len(link.external_id) <= _MAX_EXTERNAL_ID
        ):
            raise StoreError(
                f"sync {sync!r}: an external id is 1 to {_MAX_EXTERNAL_ID} characters, "
                f"got {link.external_id!r}"
            )
        if link.external_id in by_external:
            raise StoreError(
                f"sync {sync!r}: external record {link.external_id!r} appears twice in one "
                "save_links call; pass each link once"
            )
        other = by_crm.get(link.crm_id)
        if other is not None:
            raise LinkConflictError(sync, link.crm_id, other, link.external_id)
        by_external[link.external_id] = link
        by_crm[link.crm_id] = link.external_id
    stored = [crm_id for crm_id in by_crm if crm_id not in fresh]
    for crm_id, held in links_by_crm(conn, sync, stored).items():
        if held.external_id != by_crm[crm_id]:
            raise LinkConflictError(sync, crm_id, held.external_id, by_crm[crm_id])
    sl = t.sync_links
    when = bulk.binder(conn, sl.c.external_updated_at)
    stamp = bulk.bound(conn, sl.c.created_at, now)
    bulk.insert_rows(
        conn,
        sl,
        ("external_id", "crm_id", "base", "external_updated_at", "external_version"),
        [
            (
                link.external_id,
                link.crm_id,
                dumps_texts(link.base),
                when(link.external_updated_at),
                _version(link.external_version),
            )
            for link in links
        ],
        fixed={"sync": sync, "crm_object": crm_object, "created_at": stamp, "updated_at": stamp},
        upsert=(
            ("sync", "external_id"),
            (
                "crm_object",
                "crm_id",
                "base",
                "external_updated_at",
                "external_version",
                "updated_at",
            ),
        ),
    )


def _version(version: str | None) -> str | None:
    """A version too long to keep is not kept: comparing it would be a guess."""
    return version if version is not None and len(version) <= _MAX_EXTERNAL_ID else None


def delete_links(conn: Connection, sync: str, external_ids: Sequence[str]) -> None:
    sl = t.sync_links
    for chunk in chunks(sorted(set(external_ids)), CHUNK):
        conn.execute(delete(sl).where(sl.c.sync == sync, sl.c.external_id.in_(chunk)))


def relink(conn: Connection, sync: str, from_crm_id: int, to_crm_id: int, now: datetime) -> None:
    """Move the merged-away record's link to the record it was merged into."""
    if from_crm_id == to_crm_id:
        return
    found = links_by_crm(conn, sync, [from_crm_id, to_crm_id])
    moving, held = found.get(from_crm_id), found.get(to_crm_id)
    if moving is None:
        return
    if held is not None:
        raise LinkConflictError(sync, to_crm_id, held.external_id, moving.external_id)
    sl = t.sync_links
    conn.execute(
        update(sl)
        .where(sl.c.sync == sync, sl.c.crm_id == from_crm_id)
        .values(crm_id=to_crm_id, updated_at=now)
    )
