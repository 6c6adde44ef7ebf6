"""Small helpers the contract cases share: reading a run, making requests, counting."""

from __future__ import annotations

import json
from typing import Any

from connectors.base import ChangePage, Connector, Cursor, WriteRequest
from tests.contract.peers import ContractPeer

#: Pages one run may take before the case calls it endless.
MAX_PAGES = 50


def read_run(
    connector: Connector,
    peer: ContractPeer,
    cursor: Cursor | None,
    *,
    limit: int,
    resume: bool,
) -> list[ChangePage]:
    """Every page of one run, as the engine reads them: ``resume`` only for the first, each
    cursor through JSON as the store keeps it."""
    cursor = stored(cursor)
    pages: list[ChangePage] = []
    while True:
        page = connector.fetch_changes(
            peer.external_object, cursor, limit=limit, resume=resume and not pages
        )
        pages.append(page)
        assert len(page.records) <= limit, f"a page of {len(page.records)} records, limit {limit}"
        if not page.has_more:
            return pages
        assert len(pages) < MAX_PAGES, "the run did not end: has_more stays true"
        cursor = stored(page.cursor)


def stored(cursor: Cursor | None) -> Cursor | None:
    """The cursor as the engine gets it back from the store: JSON, nothing else."""
    kept = json.loads(json.dumps(cursor))
    assert kept == cursor, f"cursor {cursor!r} does not survive JSON"
    return kept  # type: ignore[no-any-return]


def ids_of(pages: list[ChangePage]) -> list[str]:
    return [r.id for page in pages for r in page.records]


def create(
    peer: ContractPeer, email: str, name: str, *, key: str | None = None, match: bool = True
) -> WriteRequest:
    """A create as the engine sends it: its idempotency key and, usually, its match value."""
    return WriteRequest(
        key or f"contract:{email}",
        None,
        peer.fields(email, name),
        (peer.email, email) if match else None,
    )


def update(peer: ContractPeer, external_id: str, name: str) -> WriteRequest:
    return WriteRequest(f"contract:update:{external_id}", external_id, peer.fields(None, name))


def holding(peer: ContractPeer, email: str) -> list[str]:
    """The ids of the live records holding ``email`` (compared without case)."""
    return [i for i, (held, _) in peer.held().items() if str(held).lower() == email.lower()]


def name_of(peer: ContractPeer, fields: Any) -> Any:
    return fields.get(peer.name)
