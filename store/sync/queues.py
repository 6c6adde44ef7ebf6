"""The outbound retry queue and waiting associations, in SQL.

A CRM record enters the outbox when a pass must write it outside but has not yet (an inbound
decision that the CRM's value wins, a conflict resolved by an operator) or when a write
failed; it leaves when the external side confirmed. Failures back off exponentially and,
after ``MAX_ATTEMPTS``, are parked for an operator: never dropped silently.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)

from store.db import tables as t
from store.db.chunks import chunks
from store.sync import intents as intent_sql

__all__ = [
    "MAX_ATTEMPTS",
    "InboundError",
    "OutboxEntry",
    "ReadyAssociation",
    "add_pending_association",
    "inbound_done",
    "inbound_failed",
    "inbound_retry_due",
    "inbound_retry_state",
    "list_inbound_errors",
    "list_outbox",
    "outbound_done",
    "outbound_due",
    "outbound_failed",
    "queue_outbound",
    "retry_inbound",
    "retry_parked",
    "take_ready_associations",
]

MAX_ATTEMPTS = 8
_FIRST_RETRY = timedelta(seconds=30)
_LONGEST_WAIT = timedelta(hours=6)


def queue_outbound(conn: Connection, sync: str, crm_ids: Sequence[int], now: datetime) -> None:
    """Due now; a record already queued keeps its attempts (and is due now)."""
    queued: set[int] = set()
    for part in chunks(sorted(set(crm_ids)), 500):
        queued |= set(
            conn.execute(
                select(t.sync_outbox.c.crm_id).where(
                    t.sync_outbox.c.sync == sync, t.sync_outbox.c.crm_id.in_(part)
                )
            ).scalars()
        )
    fresh = [i for i in dict.fromkeys(crm_ids) if i not in queued]
    if fresh:
        conn.execute(
            insert(t.sync_outbox),
            [
                {
                    "sync": sync,
                    "crm_id": i,
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": now,
                    "parked": False,
                    "created_at": now,
                }
                for i in fresh
            ],
        )
    again = sorted(queued)
    for part in chunks(again, 500):
        conn.execute(
            update(t.sync_outbox)
            .where(t.sync_outbox.c.sync == sync, t.sync_outbox.c.crm_id.in_(part))
            .values(next_attempt_at=now)
        )


def outbound_due(conn: Connection, sync: str, now: datetime, limit: int) -> list[int]:
    rows = conn.execute(
        select(t.sync_outbox.c.crm_id)
        .where(
            t.sync_outbox.c.sync == sync,
            t.sync_outbox.c.parked.is_(False),
            t.sync_outbox.c.next_attempt_at <= now,
        )
        .order_by(t.sync_outbox.c.next_attempt_at, t.sync_outbox.c.crm_id)
        .limit(limit)
    )
    return [int(i) for i in rows.scalars()]


def outbound_done(conn: Connection, sync: str, crm_ids: Sequence[int]) -> None:
    for part in chunks(sorted(set(crm_ids)), 500):
        conn.execute(
            delete(t.sync_outbox).where(
                t.sync_outbox.c.sync == sync, t.sync_outbox.c.crm_id.in_(part)
            )
        )


def outbound_failed(
    conn: Connection,
    sync: str,
    crm_id: int,
    error: str,
    *,
    retriable: bool,
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Count a failure and schedule the next try; park when retrying cannot help."""
    row = conn.execute(
        select(t.sync_outbox.c.attempts).where(
            t.sync_outbox.c.sync == sync, t.sync_outbox.c.crm_id == crm_id
        )
    ).first()
    attempts = (int(row[0]) if row else 0) + 1
    wait = min(_FIRST_RETRY * (2 ** (attempts - 1)), _LONGEST_WAIT)
    values = {
        "attempts": attempts,
        "last_error": error[:2000],
        "next_attempt_at": now + wait,
        "parked": (not retriable) or attempts >= max_attempts,
    }
    if row is None:
        conn.execute(
            insert(t.sync_outbox).values(sync=sync, crm_id=crm_id, created_at=now, **values)
        )
    else:
        conn.execute(
            update(t.sync_outbox)
            .where(t.sync_outbox.c.sync == sync, t.sync_outbox.c.crm_id == crm_id)
            .values(**values)
        )


def add_pending_association(
    conn: Connection,
    sync: str,
    crm_id: int,
    field: str,
    target_sync: str,
    target_external_id: str,
    now: datetime,
) -> None:
    table = t.sync_pending_associations
    conn.execute(
        delete(table).where(table.c.sync == sync, table.c.crm_id == crm_id, table.c.field == field)
    )
    conn.execute(
        insert(table).values(
            sync=sync,
            crm_id=crm_id,
            field=field,
            target_sync=target_sync,
            target_external_id=target_external_id,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class OutboxEntry:
    """One CRM record a sync still has to write outside, and how trying went so far."""

    sync: str
    crm_id: int
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    parked: bool
    created_at: datetime


def list_outbox(conn: Connection, sync: str | None, *, parked: bool | None) -> list[OutboxEntry]:
    box = t.sync_outbox
    query = select(box).order_by(box.c.sync, box.c.crm_id)
    if sync is not None:
        query = query.where(box.c.sync == sync)
    if parked is not None:
        query = query.where(box.c.parked.is_(parked))
    return [
        OutboxEntry(
            sync=r.sync,
            crm_id=int(r.crm_id),
            attempts=int(r.attempts),
            last_error=r.last_error,
            next_attempt_at=r.next_attempt_at,
            parked=bool(r.parked),
            created_at=r.created_at,
        )
        for r in conn.execute(query)
    ]


def retry_parked(conn: Connection, sync: str | None, crm_id: int | None, now: datetime) -> int:
    """Parked records become due now with their attempts reset: an operator said try again."""
    box = t.sync_outbox
    which: list[ColumnElement[bool]] = [box.c.parked.is_(True)]
    if sync is not None:
        which.append(box.c.sync == sync)
    if crm_id is not None:
        which.append(box.c.crm_id == crm_id)
    # A create parked because it may exist outside: the operator looked, so its intent goes
    # and the next pass creates it (or finds it by its match key) like any other.
    by_sync: dict[str, list[int]] = {}
    for row in conn.execute(select(box.c.sync, box.c.crm_id).where(*which)):
        by_sync.setdefault(str(row.sync), []).append(int(row.crm_id))
    for name, ids in by_sync.items():
        intent_sql.close_intents(conn, name, ids)
    statement = update(box).where(*which)
    result = conn.execute(statement.values(parked=False, attempts=0, next_attempt_at=now))
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class ReadyAssociation:
    crm_id: int
    key: str
    target_crm_id: int


def take_ready_associations(conn: Connection, sync: str) -> list[ReadyAssociation]:
    """Waiting associations whose other record now has a link; removed as they are taken."""
    pending, links = t.sync_pending_associations, t.sync_links
    rows = conn.execute(
        select(pending.c.crm_id, pending.c.field, links.c.crm_id.label("target"))
        .join(
            links,
            and_(
                links.c.sync == pending.c.target_sync,
                links.c.external_id == pending.c.target_external_id,
            ),
        )
        .where(pending.c.sync == sync)
    ).all()
    ready = [ReadyAssociation(int(r.crm_id), str(r.field), int(r.target)) for r in rows]
    for item in ready:
        conn.execute(
            delete(pending).where(
                pending.c.sync == sync,
                pending.c.crm_id == item.crm_id,
                pending.c.field == item.key,
            )
        )
    return ready


# ---------------------------------------------------------------- inbound errors


@dataclass(frozen=True)
class InboundError:
    """An external record a sync could not apply, and since when."""

    sync: str
    external_id: str
    error: str
    attempts: int
    retry_requested: bool
    first_failed_at: datetime
    last_failed_at: datetime
    #: When the sync retries it by itself (a refusal the CRM can clear), else None.
    retry_at: datetime | None = None


def _retry_at(attempts: int, now: datetime) -> datetime:
    wait: timedelta = min(_FIRST_RETRY * (2 ** (attempts - 1)), _LONGEST_WAIT)
    return now + wait


def inbound_failed(
    conn: Connection,
    sync: str,
    failures: Mapping[str, str],
    now: datetime,
    retry_later: Collection[str] = (),
) -> None:
    """Record (or count again) the records that failed; an operator sees them parked.

    Those in ``retry_later`` were refused for a reason the CRM can clear (a value another
    record holds, a match already linked): the sync fetches them again by itself after a
    back-off (30 s, doubling, at most 6 h), since the cursor has moved past them.
    """
    table = t.sync_inbound_errors
    known: dict[str, int] = {}
    for part in chunks(sorted(failures), 500):
        for row in conn.execute(
            select(table.c.external_id, table.c.attempts).where(
                table.c.sync == sync, table.c.external_id.in_(part)
            )
        ):
            known[str(row.external_id)] = int(row.attempts)
    fresh = [
        {
            "sync": sync,
            "external_id": external_id,
            "error": error[:2000],
            "attempts": 1,
            "retry_requested": False,
            "first_failed_at": now,
            "last_failed_at": now,
            "retry_at": _retry_at(1, now) if external_id in retry_later else None,
        }
        for external_id, error in failures.items()
        if external_id not in known
    ]
    if fresh:
        conn.execute(insert(table), fresh)
    for external_id, attempts in known.items():
        conn.execute(
            update(table)
            .where(table.c.sync == sync, table.c.external_id == external_id)
            .values(
                error=failures[external_id][:2000],
                attempts=attempts + 1,
                retry_requested=False,
                last_failed_at=now,
                retry_at=_retry_at(attempts + 1, now) if external_id in retry_later else None,
            )
        )


def inbound_done(conn: Connection, sync: str, external_ids: Sequence[str]) -> None:
    table = t.sync_inbound_errors
    for part in chunks(sorted(set(external_ids)), 500):
        conn.execute(delete(table).where(table.c.sync == sync, table.c.external_id.in_(part)))


def inbound_retry_due(conn: Connection, sync: str, now: datetime, limit: int) -> list[str]:
    """Asked for by an operator, or refused for a reason the CRM may have cleared by now."""
    table = t.sync_inbound_errors
    rows = conn.execute(
        select(table.c.external_id)
        .where(
            table.c.sync == sync,
            or_(table.c.retry_requested.is_(True), table.c.retry_at <= now),
        )
        .order_by(table.c.external_id)
        .limit(limit)
    )
    return [str(r) for r in rows.scalars()]


def inbound_retry_now(conn: Connection, sync: str, now: datetime) -> None:
    """The records waiting out a back-off for a value or a match another record held are
    due at once: a link went (a delete, an unlink), and with it maybe what refused them."""
    table = t.sync_inbound_errors
    conn.execute(
        update(table).where(table.c.sync == sync, table.c.retry_at > now).values(retry_at=now)
    )


def inbound_retry_state(
    conn: Connection, sync: str, now: datetime, limit: int
) -> tuple[list[str], bool]:
    """``inbound_retry_due`` and whether the sync has any parked record at all, in one
    statement: the due rows sort first, so the first ``limit`` rows hold the same due ids."""
    table = t.sync_inbound_errors
    due = case((or_(table.c.retry_requested.is_(True), table.c.retry_at <= now), 0), else_=1).label(
        "later"
    )
    rows = conn.execute(
        select(table.c.external_id, due)
        .where(table.c.sync == sync)
        .order_by(due, table.c.external_id)
        .limit(limit)
    ).all()
    return [str(r.external_id) for r in rows if r.later == 0], bool(rows)


def list_inbound_errors(conn: Connection, sync: str | None) -> list[InboundError]:
    table = t.sync_inbound_errors
    query = select(table).order_by(table.c.sync, table.c.external_id)
    if sync is not None:
        query = query.where(table.c.sync == sync)
    return [
        InboundError(
            sync=r.sync,
            external_id=r.external_id,
            error=r.error,
            attempts=int(r.attempts),
            retry_requested=bool(r.retry_requested),
            first_failed_at=r.first_failed_at,
            last_failed_at=r.last_failed_at,
            retry_at=r.retry_at,
        )
        for r in conn.execute(query)
    ]


def retry_inbound(conn: Connection, sync: str | None, external_id: str | None) -> int:
    """Ask the next pass to fetch these records again and apply them."""
    table = t.sync_inbound_errors
    statement = update(table).where(table.c.retry_requested.is_(False))
    if sync is not None:
        statement = statement.where(table.c.sync == sync)
    if external_id is not None:
        statement = statement.where(table.c.external_id == external_id)
    return int(conn.execute(statement.values(retry_requested=True)).rowcount or 0)
