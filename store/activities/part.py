"""The store facade's part for the activity timeline: logging activities and reading them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.activities import timeline as tl
from store.associations import sql as association_sql
from store.db.part import FacadePart
from store.db.types import utcnow
from store.errors import ValidationError
from store.models import Association, ChangeSource, Record

if TYPE_CHECKING:
    from store.db.catalog import LoadedObject
    from store.db.tx import Tx
    from store.models import AssociationLabel

__all__ = ["ActivitiesPart"]


class ActivitiesPart(FacadePart):
    """Log calls, notes, emails, meetings and tasks on records; read a record's timeline."""

    if TYPE_CHECKING:

        def create_record(
            self,
            object_name: str,
            properties: Mapping[str, object],
            source: ChangeSource,
            *,
            associations: Sequence[tuple[str, int, str | None]] = (),
        ) -> Record: ...

        @staticmethod
        def _associate(
            tx: Tx, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int, label: str | None
        ) -> AssociationLabel: ...

    def log_activity(
        self,
        activity_type: str,
        on_object: str,
        on_id: int,
        *,
        body: str | None = None,
        subject: str | None = None,
        at: datetime | None = None,
        properties: Mapping[str, object] | None = None,
        associate: Iterable[tuple[str, int]] = (),
        source: ChangeSource,
    ) -> Record:
        """Log a note, call, email, meeting or task on a record, in one transaction.

        ``body`` and ``subject`` (a call's or meeting's title) go to the type's own
        properties; ``at`` (default now; a naive time is refused) is ``hs_timestamp``, for a
        task its due date. The activity is associated with the record and with each of
        ``associate``; one logged on a contact reaches the contact's primary company too, and
        the Last Contacted / Last Activity dates of every record it lands on follow.
        """
        fields = tl.activity_type(activity_type)
        when = utcnow() if at is None else tl.require_aware("at", at)
        values = tl.activity_properties(fields, when, body, subject, properties or {})
        targets = list(dict.fromkeys([(on_object, on_id), *associate]))
        return self.create_record(
            fields.object,
            values,
            source,
            associations=[(obj, rid, None) for obj, rid in targets],
        )

    def associate_activity(
        self,
        activity_type: str,
        activity_id: int,
        targets: Iterable[tuple[str, int]],
        source: ChangeSource,
    ) -> list[Association]:
        """Associate an existing activity with more records, all or none; returns every
        association the activity then has (a contact's primary company included)."""
        fields = tl.activity_type(activity_type)
        wanted = list(dict.fromkeys(targets))
        if not wanted:
            raise ValidationError(
                fields.object, "associations", activity_id, "name at least one record"
            )

        def work(tx: Tx) -> list[Association]:
            activity = tx.object(fields.object)
            for obj, rid in wanted:
                self._associate(tx, activity, activity_id, tx.object(obj), rid, None)
            return association_sql.list_associations(tx.connection, activity, activity_id)

        return self._write(source, work)

    def timeline(
        self,
        object_name: str,
        record_id: int,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> tl.TimelinePage:
        """A record's live activities, newest first by ``hs_timestamp`` then id; pass a
        page's ``next_after`` back as ``after`` for the next one."""
        kinds = None if types is None else [types] if isinstance(types, str) else list(types)

        def work(conn: Any) -> tl.TimelinePage:
            return tl.read_timeline(
                conn,
                object_name,
                record_id,
                types=kinds,
                since=since,
                until=until,
                limit=limit,
                after=after,
            )

        return self._read(work)
