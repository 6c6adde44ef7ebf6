"""Leases: one process runs a sync at a time, and one that lost its lease cannot commit.

A lease is a row per sync naming its holder, a fencing token and an expiry. Taking a free or
expired lease bumps the token; renewing keeps it. Every transaction a sync's run commits
first checks, under a row lock, that its holder still holds the lease with the same token
and that it has not expired: a process that was paused (SIGSTOP, a long GC, a partition)
past its expiry wakes to find the token moved on and its transaction refused, so two
processes can never both commit work for one sync.

A pass that finds the lease held (``syncd sync`` beside the daemon) asks for it: ``want``
names it in the row, and while that request is fresh (refreshed as the waiter polls, so a
waiter that gave up or died stops counting after ``WANT_FRESH``) nobody else may take the
lease when it frees, and the holder hands it over between passes (``wanted_from``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from store.db import tables as t
from store.errors import LeaseLostError

__all__ = [
    "WANT_FRESH",
    "Fence",
    "LeaseHolder",
    "acquire",
    "check",
    "release",
    "unwant",
    "want",
    "wanted_from",
]

#: How long a waiter's request for a lease counts after its last refresh.
WANT_FRESH = timedelta(seconds=5)


@dataclass(frozen=True)
class Fence:
    """What a lease holder proves in every transaction: who it is and which token it holds.

    ``ttl_seconds`` bounds how long a fenced PostgreSQL transaction may sit idle: a holder
    frozen mid-transaction (SIGSTOP, a partition) would otherwise keep the lease row locked
    and block the takeover until TCP gives up, hours later.
    """

    sync: str
    holder: str
    token: int
    ttl_seconds: float = 30.0


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a sync's lease now, as a waiter is told."""

    holder: str
    expires_at: datetime


def _fresh(now: datetime) -> datetime:
    """The later of the transaction's clock and the wall clock now: a lock wait must not
    make an expired lease look alive, nor grant a lease that is expired on arrival."""
    return max(now, datetime.now(UTC))


def _lock_row(conn: Connection, sync: str, wait_seconds: float) -> bool:
    """Lock the lease row (PostgreSQL), waiting at most ``wait_seconds``; False on timeout."""
    if conn.dialect.name != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already serialises every writer
    leases = t.sync_leases
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'")
            conn.execute(select(leases.c.sync).where(leases.c.sync == sync).with_for_update())
            conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
    except OperationalError:
        return False
    return True


def acquire(
    conn: Connection, sync: str, holder: str, ttl: timedelta, now: datetime
) -> Fence | None:
    """Take or renew the lease of ``sync`` for ``holder``; None when another holds it."""
    leases = t.sync_leases
    if not _lock_row(conn, sync, wait_seconds=max(0.1, min(2.0, ttl.total_seconds() / 3))):
        return None  # a holder is mid-transaction on it: it is alive, or will time out
    now = _fresh(now)
    ttl_seconds = ttl.total_seconds()
    renewed = conn.execute(
        update(leases)
        .where(leases.c.sync == sync, leases.c.holder == holder, leases.c.expires_at >= now)
        .values(expires_at=now + ttl)
        .returning(leases.c.token)
    ).first()
    if renewed is not None:
        return Fence(sync, holder, int(renewed[0]), ttl_seconds)
    taken = conn.execute(
        update(leases)
        .where(
            leases.c.sync == sync,
            or_(leases.c.expires_at < now, leases.c.holder.is_(None)),
            # A fresh request by another waiter keeps the freed lease for that waiter.
            or_(
                leases.c.wanted_by.is_(None),
                leases.c.wanted_by == holder,
                leases.c.wanted_at.is_(None),
                leases.c.wanted_at < now - WANT_FRESH,
            ),
        )
        .values(
            holder=holder,
            token=leases.c.token + 1,
            expires_at=now + ttl,
            acquired_at=now,
            wanted_by=None,
            wanted_at=None,
        )
        .returning(leases.c.token)
    ).first()
    if taken is not None:
        return Fence(sync, holder, int(taken[0]), ttl_seconds)
    exists = conn.execute(select(leases.c.sync).where(leases.c.sync == sync)).first()
    if exists is not None:
        return None
    try:
        with conn.begin_nested():
            conn.execute(
                insert(leases).values(
                    sync=sync, holder=holder, token=1, expires_at=now + ttl, acquired_at=now
                )
            )
    except IntegrityError:  # another process created it first: it holds it
        return None
    return Fence(sync, holder, 1, ttl_seconds)


def check(conn: Connection, fence: Fence, now: datetime) -> None:
    """Refuse the transaction unless ``fence`` still holds an unexpired lease."""
    leases = t.sync_leases
    query = select(leases.c.holder, leases.c.token, leases.c.expires_at).where(
        leases.c.sync == fence.sync
    )
    if conn.dialect.name == "postgresql":
        idle = max(1000, int(fence.ttl_seconds * 1000))
        conn.exec_driver_sql(f"SET LOCAL idle_in_transaction_session_timeout = {idle}")
        query = query.with_for_update()
    row = conn.execute(query).first()
    now = _fresh(now)
    if row is None or row.holder != fence.holder or int(row.token) != fence.token:
        raise LeaseLostError(
            f"sync {fence.sync}: this process ({fence.holder}) lost its lease; another process"
            " runs the sync now, so this work is not committed"
        )
    if row.expires_at < now:
        raise LeaseLostError(
            f"sync {fence.sync}: the lease of {fence.holder} expired at {row.expires_at:%H:%M:%S};"
            " this work is not committed"
        )


def release(conn: Connection, fence: Fence) -> None:
    """Give the lease up at once (a clean stop), so another process need not wait it out."""
    leases = t.sync_leases
    conn.execute(
        update(leases)
        .where(
            and_(
                leases.c.sync == fence.sync,
                leases.c.holder == fence.holder,
                leases.c.token == fence.token,
            )
        )
        .values(holder=None)
    )


def want(conn: Connection, sync: str, holder: str, now: datetime) -> LeaseHolder | None:
    """Ask for ``sync``'s lease as ``holder`` (refreshing an earlier ask); who holds it now.

    A fresher request by another waiter is left alone: the first to ask is served first.
    None when nobody holds a live lease (the waiter should simply try to take it).
    """
    leases = t.sync_leases
    now = _fresh(now)
    conn.execute(
        update(leases)
        .where(
            leases.c.sync == sync,
            or_(
                leases.c.wanted_by.is_(None),
                leases.c.wanted_by == holder,
                leases.c.wanted_at.is_(None),
                leases.c.wanted_at < now - WANT_FRESH,
            ),
        )
        .values(wanted_by=holder, wanted_at=now)
    )
    row = conn.execute(
        select(leases.c.holder, leases.c.expires_at).where(leases.c.sync == sync)
    ).first()
    if row is None or row.holder is None or row.expires_at < now:
        return None
    return LeaseHolder(row.holder, row.expires_at)


def unwant(conn: Connection, sync: str, holder: str) -> None:
    """Withdraw ``holder``'s request for the lease (it gave up waiting)."""
    leases = t.sync_leases
    conn.execute(
        update(leases)
        .where(leases.c.sync == sync, leases.c.wanted_by == holder)
        .values(wanted_by=None, wanted_at=None)
    )


def wanted_from(conn: Connection, holder: str, now: datetime) -> set[str]:
    """The syncs ``holder`` holds that another pass waits for: to hand over between passes."""
    leases = t.sync_leases
    now = _fresh(now)
    rows = conn.execute(
        select(leases.c.sync).where(
            leases.c.holder == holder,
            leases.c.wanted_by.is_not(None),
            leases.c.wanted_by != holder,
            leases.c.wanted_at >= now - WANT_FRESH,
        )
    )
    return {row[0] for row in rows}
