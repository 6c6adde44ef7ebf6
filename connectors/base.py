"""The contract every connector implements, and the values that cross it.

The engine knows external systems only through this contract: it asks for the records
changed since a cursor, for records by id or by a match value, and hands over batches of
writes and deletes, getting one result per input back. A connector never sees the CRM, a
base or a conflict rule; it moves external records and reports honestly what the other side
confirmed, so the engine can move a base only for what was really written.

Values are plain JSON-like data (``str``, numbers, ``bool``, ``None``, nested dicts and lists)
in the external system's own field names; the engine's mapping turns them into CRM values.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from connectors.errors import (
    AuthError,
    ConnectorError,
    QuotaExhaustedError,
    RecordRefusedError,
    TransientError,
    WebhookNotSupportedError,
    WebhookPayloadError,
)

__all__ = [
    "AuthError",
    "ChangePage",
    "Connector",
    "ConnectorError",
    "ConnectorOptions",
    "CreateCheck",
    "Cursor",
    "ExternalRecord",
    "QuotaExhaustedError",
    "RecordRefusedError",
    "TransientError",
    "WebhookEvent",
    "WebhookNotSupportedError",
    "WebhookPayloadError",
    "WriteOutcome",
    "WriteRequest",
    "WriteResult",
]

if TYPE_CHECKING:
    from connectors.http import HttpClients

Cursor = dict[str, Any]
"""Where reading stopped: JSON-serialisable, opaque to the engine, stored per sync."""


class ConnectorOptions(BaseModel):
    """Base of every connector's YAML options; unknown keys are refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        """Why a create whose answer is lost could not be found again, and what fixes it.

        None when the connector can always tell whether such a create happened (by the match
        field ``match_field``, by a key syncd writes on the record, or because the system
        itself refuses a second create with the same key). ``syncd check`` shows the text as
        a warning: without a way to look, a lost answer parks the record for an operator.
        """
        return None


#: A connector's options model; a bare ``Connector`` is one of any options.
OptionsT = TypeVar("OptionsT", bound=ConnectorOptions, default=ConnectorOptions, covariant=True)


@dataclass(frozen=True)
class ExternalRecord:
    """One record as the external system holds it now.

    ``updated_at`` (aware) feeds the ``most_recent`` rule and the cursor; ``deleted`` marks a
    tombstone a change feed reported (the engine applies the sync's delete rule).
    """

    id: str
    fields: Mapping[str, Any]
    updated_at: datetime | None = None
    deleted: bool = False
    #: Who made the last change, when the system says (HubSpot's ``changeSource`` and
    #: ``sourceId``, e.g. ``"INTEGRATION:12345"``): one more way to recognise our own writes.
    source: str | None = None
    #: An opaque version that changes with every change of the record, unmapped parts
    #: included (a CardDAV ETag), when the system has one. The engine keeps it with the link
    #: and passes it back to :meth:`Connector.delete_versions`.
    version: str | None = None
    #: When the system made the record (aware), where it says: tells a new record that got
    #: a deleted record's id back (SQLite reuses the last rowid) from an edit of that one.
    created_at: datetime | None = None


@dataclass(frozen=True)
class ChangePage:
    """One page of changes, in the connector's order, and the cursor just after it.

    The engine stores ``cursor`` only once it has committed every record of the page, so a
    run that fails part-way starts the next time from the last committed page.
    """

    records: Sequence[ExternalRecord]
    cursor: Cursor | None
    has_more: bool


@dataclass(frozen=True)
class WriteRequest:
    """Create (``external_id`` is None) or update one external record.

    ``key`` is the engine's idempotency key for a create (stable across retries of the same
    CRM record); ``match`` is the external field and value the connector may search first so
    that a retry after a lost response finds the record it created instead of making another.
    ``fields`` holds only the fields to write (a partial update).
    """

    key: str
    external_id: str | None
    fields: Mapping[str, Any]
    match: tuple[str, Any] | None = None


class WriteOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"


@dataclass(frozen=True)
class WriteResult:
    """What happened to one request, in the order of the requests.

    ``record`` is what the external side holds after the write when the connector knows it
    (the engine records its ``updated_at``); ``error`` names the reason for a failure and
    ``retriable`` whether trying again later may help (a 503) or not (a 422).
    """

    outcome: WriteOutcome
    external_id: str | None = None
    record: ExternalRecord | None = None
    error: str | None = None
    retriable: bool = False
    #: A create that found an existing record by its match key and wrote to that one instead:
    #: the engine reports a link, not a create (and a dry run plans the same).
    matched: bool = False
    #: A failed create that may have happened all the same (its answer was lost and the
    #: system could not be asked): the engine keeps its create intent open, so nothing
    #: creates it again before someone has looked.
    maybe_created: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is not WriteOutcome.FAILED


@dataclass(frozen=True)
class CreateCheck:
    """What the external system says about a create that may have happened.

    ``record`` is the record that create made, when it was found. Otherwise ``safe`` says
    whether creating (again) cannot duplicate: the connector looked and found nothing, or
    the system recognises a repeated create by its key. ``safe`` false means there is no way
    to tell, and only an operator can decide; ``reason`` then says what was missing.
    """

    record: ExternalRecord | None = None
    safe: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """One change a webhook reported: the record when the body carried it, else its id."""

    external_object: str
    external_id: str
    record: ExternalRecord | None = None
    deleted: bool = False
    delivery_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Connector(ABC, Generic[OptionsT]):
    """One configured external system; one instance per connector in the YAML.

    Methods take the external object's name (``customers``) because one system holds many.
    Every batch method returns one result per input, in order: one bad record never fails
    the others. A call that fails as a whole raises a :class:`ConnectorError` of the kind
    the engine must act on (see :mod:`connectors.errors`): :class:`AuthError` pauses the
    sync, :class:`TransientError` fails the pass to be run again, any other fails it.

    Generic in its options model: ``class SqlConnector(Connector[SqlOptions])`` reads
    ``self.options`` as ``SqlOptions``; the base refuses options of another model once.
    ``http`` is the daemon's :class:`connectors.http.HttpClients`, from which an HTTP
    connector takes its client (a connector of another transport ignores it).
    """

    #: The ``type:`` this class is configured by.
    type_name: ClassVar[str]
    #: The pydantic model of its YAML options (the class's ``OptionsT``).
    options_model: ClassVar[type[ConnectorOptions]]

    def __init__(
        self, name: str, options: ConnectorOptions, *, http: HttpClients | None = None
    ) -> None:
        if not isinstance(options, self.options_model):
            raise ConnectorError(
                f"connector {name}: a {self.type_name} connector needs "
                f"{self.options_model.__name__}, not {type(options).__name__}"
            )
        self.name = name
        # Checked just above against options_model, which a subclass keeps equal to OptionsT.
        self.options: OptionsT = cast(OptionsT, options)

    def check_object(self, external_object: str) -> str | None:
        """What stops this connector from working with ``external_object`` now, or None.

        Contacts the system (once, no retries): reachable, credentials accepted, the object
        there. ``syncd check --connect`` and ``syncd run`` at start ask it for every sync, so
        a wrong URL or token is named before a sync reports "nothing to do". Refused
        credentials raise :class:`AuthError` rather than return a text: the daemon pauses
        the sync instead of asking again before every pass (which could lock the account).
        """
        return None

    @abstractmethod
    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        """Records changed after ``cursor`` (all records when it is None), oldest first.

        ``resume`` is true for the first page of a run, whose cursor was stored by an earlier
        run: the connector then reads back a lookback window, so a record committed late with
        an older timestamp is not missed (the engine recognises re-read records as no change).
        Pages within a run continue exactly where the previous page ended.
        """

    @abstractmethod
    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        """The records with these ids that exist; missing ids are simply absent."""

    @abstractmethod
    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        """Records whose ``field_name`` equals one of ``values``, keyed by that value."""

    @classmethod
    def association_problem(
        cls, options: ConnectorOptions, external_object: str, field_name: str
    ) -> str | None:
        """Why ``field_name`` of ``external_object`` cannot carry an association, or None.

        A sync's ``associations: [{external: field}]`` reads the other record's external id
        from that field and writes it back there. A plain field (a REST body, a column) can
        hold it; a connector whose system keeps associations apart says so here, and
        ``syncd check`` refuses the entry on its line. Static: options only, no I/O.
        """
        return None

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Whether a create carrying ``match=(field_name, value)`` first looks for a record
        holding that value and adopts it (``WriteResult.matched``).

        The dry run asks :meth:`find_by` for exactly those creates, so that it plans the link
        the real write would make instead of a create. The default: the connector never does.
        """
        return False

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        """For creates that may have happened (a crash or a lost answer), what exists.

        One check per request, in order. The default looks by each request's ``match``
        through :meth:`find_by`; a request without a match value, or an object that cannot
        be searched by it, cannot be told apart from a fresh create (``safe`` false).
        """
        checks: list[CreateCheck | None] = [None] * len(requests)
        by_field: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            if request.match is None or request.match[1] in (None, ""):
                checks[index] = CreateCheck(reason="it has no match value to look it up by")
            else:
                by_field.setdefault(request.match[0], []).append(index)
        for field_name, positions in by_field.items():
            values = [requests[i].match[1] for i in positions]  # type: ignore[index]
            try:
                found = self.find_by(external_object, field_name, values)
            except ConnectorError as exc:
                if exc.retriable:
                    raise
                for i in positions:
                    checks[i] = CreateCheck(reason=f"it cannot be looked up: {exc}")
                continue
            for i in positions:
                record = found.get(requests[i].match[1])  # type: ignore[index]
                checks[i] = CreateCheck(record=record, safe=True)
        return [c if c is not None else CreateCheck() for c in checks]

    @abstractmethod
    def iter_ids(self, external_object: str) -> Iterator[str]:
        """Every live id, for delete reconciliation (streamed, never all in memory at once)."""

    @abstractmethod
    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Create or update each request's record; one result per request, in order."""

    @abstractmethod
    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        """Delete each record; an id already gone counts as deleted."""

    def delete_versions(
        self, external_object: str, ids: Sequence[str], versions: Sequence[str | None]
    ) -> list[WriteResult]:
        """Delete each record only while it is still at its ``version`` (``ExternalRecord.version``).

        The engine reads the records and compares them with the base right before it
        deletes, so a connector whose system has no conditional delete deletes plainly
        (this default). One that has one (CardDAV ``If-Match``) overrides this: a record
        changed since is then a retriable failure, never a lost edit. A ``None`` version
        is a plain delete.
        """
        return self.delete(external_object, ids)

    def verify_webhook(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        """Raise unless the raw body is signed by this connector's secret (see connectors/webhooks.py)."""
        raise WebhookNotSupportedError(f"connector {self.name} receives no webhooks")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """The changes a verified webhook body reports."""
        raise WebhookNotSupportedError(f"connector {self.name} receives no webhooks")

    def close(self) -> None:
        """Release connections; the default holds none."""
        return None
