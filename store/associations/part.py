"""The store facade's part for associations: one pair by label, by type id in batches, labels.

``associate`` links one pair by label text; HubSpot's v4 API speaks in association type
ids and in batches of up to 2,000 pairs with an answer per pair. What is here does a whole
batch in one transaction: every record of the batch is locked up front (in id order, so two
batches cannot deadlock on each other), each pair is checked before anything of it is
written, and a pair that fails is reported without stopping the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.associations import calculated
from store.associations import sql as association_sql
from store.db.catalog import LoadedObject, load_object
from store.db.part import FacadePart
from store.errors import RecordWriteError, ValidationError
from store.models import Association, AssociationLabel, ChangeSource
from store.records import sql as record_sql
from store.records.sql import is_record_id, lock_records, read_records, record_not_found

if TYPE_CHECKING:
    from store.db.tx import Tx

__all__ = ["AssociationsPart", "LinkRequest"]

MAX_LINKS = 2_000  # HubSpot's limit for one batch of associations
MAX_PAGE = 500


@dataclass(frozen=True)
class LinkRequest:
    """One pair to associate, with the type ids (from ``from_id``'s side) it should carry.

    No type ids means the pair's default (unlabelled) type.
    """

    from_id: int
    to_id: int
    type_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class AssociationPage:
    """One page of a record's associations towards one object."""

    associations: list[Association]
    next_after: int | None


class AssociationsPart(FacadePart):
    """Associations by type id and in batches; association labels and definitions."""

    # ------------------------------------------------------------ one pair by label

    def list_labels(self, from_object: str, to_object: str) -> list[AssociationLabel]:
        return self._read(
            lambda c: association_sql.list_labels(
                c, load_object(c, from_object), load_object(c, to_object)
            )
        )

    def create_label(
        self, from_object: str, to_object: str, label: str, inverse: str | None = None
    ) -> list[AssociationLabel]:
        return self._write(
            ChangeSource.cli(),
            lambda tx: association_sql.create_label(
                tx, tx.object(from_object), tx.object(to_object), label, inverse
            ),
        )

    def associate(
        self,
        from_object: str,
        from_id: int,
        to_object: str,
        to_id: int,
        source: ChangeSource,
        *,
        label: str | None = None,
    ) -> AssociationLabel:
        return self._write(
            source,
            lambda tx: self._associate(
                tx, tx.object(from_object), from_id, tx.object(to_object), to_id, label
            ),
        )

    def _associate(
        self, tx: Tx, a: LoadedObject, a_id: int, b: LoadedObject, b_id: int, label: str | None
    ) -> AssociationLabel:
        chosen = association_sql.associate(tx, a, a_id, b, b_id, label)
        if a.schema.activity and b.name == "contacts":
            calculated.link_activity_to_primary_company(tx, a, a_id, b_id)
        elif b.schema.activity and a.name == "contacts":
            calculated.link_activity_to_primary_company(tx, b, b_id, a_id)
        return chosen

    def dissociate(
        self,
        from_object: str,
        from_id: int,
        to_object: str,
        to_id: int,
        source: ChangeSource,
        *,
        label: str | None = None,
    ) -> int:
        """Remove one label, or all links between the two records; returns rows removed."""
        return self._write(
            source,
            lambda tx: association_sql.dissociate(
                tx, tx.object(from_object), from_id, tx.object(to_object), to_id, label
            ),
        )

    def list_associations(
        self, object_name: str, record_id: int, to_object: str | None = None
    ) -> list[Association]:
        """A record's associations with live records; NotFoundError when ``record_id`` is not
        a record of ``object_name`` (ids are unique across objects: another object's record
        of that id is not this one)."""

        def work(conn: Any) -> list[Association]:
            obj = load_object(conn, object_name)
            to = load_object(conn, to_object) if to_object else None
            if record_id not in record_sql.read_records(
                conn, obj, [record_id], include_archived=True
            ):
                raise record_sql.record_not_found(obj, record_id)
            return association_sql.list_associations(conn, obj, record_id, to)

        return self._read(work)

    # ------------------------------------------------------------ record links

    def set_associations(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[LinkRequest],
        source: ChangeSource,
        *,
        replace: bool = False,
    ) -> list[Association | RecordWriteError]:
        """Give each pair the types asked for; per pair, what it carries now or why not.

        With ``replace`` a pair's other labels are removed, so it carries exactly the types
        asked for (and the default type, which every association has).
        """
        if len(links) > MAX_LINKS:
            raise RecordWriteError(f"at most {MAX_LINKS} associations at once, got {len(links)}")

        def work(tx: Tx) -> list[Association | RecordWriteError]:
            a, b = tx.object(from_object), tx.object(to_object)
            self._lock(tx, a, b, [(x.from_id, x.to_id) for x in links])
            types = {x.type_id: x for x in association_sql.list_labels(tx.connection, a, b)}
            outcomes: list[Association | RecordWriteError] = []
            for link in links:
                try:
                    wanted = _wanted_types(a, b, types, link)
                    self._link(tx, a, b, link, wanted, replace=replace)
                except RecordWriteError as error:
                    outcomes.append(error)
                    continue
                labels = association_sql.labels_between(
                    tx.connection, a, link.from_id, b, link.to_id
                )
                outcomes.append(
                    Association(a.name, link.from_id, b.name, link.to_id, tuple(labels))
                )
            return outcomes

        return self._write(source, work)

    def _link(
        self,
        tx: Tx,
        a: LoadedObject,
        b: LoadedObject,
        link: LinkRequest,
        wanted: list[AssociationLabel],
        *,
        replace: bool,
    ) -> None:
        # The first call checks both records and the pair before it writes anything, and
        # every type was checked by _wanted_types: a failure here leaves nothing half done.
        for chosen in wanted:
            self._associate(tx, a, link.from_id, b, link.to_id, chosen.label)
        if replace:
            keep = {x.type_id for x in wanted}
            for old in association_sql.labels_between(
                tx.connection, a, link.from_id, b, link.to_id
            ):
                if old.label is not None and old.type_id not in keep:
                    association_sql.dissociate(tx, a, link.from_id, b, link.to_id, old.label)

    @staticmethod
    def _lock(tx: Tx, a: LoadedObject, b: LoadedObject, pairs: Sequence[tuple[int, int]]) -> None:
        if a.id == b.id:
            lock_records(tx, a, [i for pair in pairs for i in pair if is_record_id(i)])
            return
        # One order for every batch, whichever direction it names: object by object id,
        # records by id within each (lock_records sorts), so two batches never deadlock.
        sides = sorted(
            [
                (a, [x for x, _ in pairs if is_record_id(x)]),
                (b, [y for _, y in pairs if is_record_id(y)]),
            ],
            key=lambda side: side[0].id,
        )
        for obj, ids in sides:
            lock_records(tx, obj, ids)

    def remove_association_types(
        self,
        from_object: str,
        to_object: str,
        links: Sequence[LinkRequest],
        source: ChangeSource,
    ) -> int:
        """Remove the given types from each pair; the default type removes the whole link.

        Pairs or types that are not there are skipped (removing is idempotent). Returns the
        rows removed.
        """
        if len(links) > MAX_LINKS:
            raise RecordWriteError(f"at most {MAX_LINKS} associations at once, got {len(links)}")

        def work(tx: Tx) -> int:
            a, b = tx.object(from_object), tx.object(to_object)
            types = {x.type_id: x for x in association_sql.list_labels(tx.connection, a, b)}
            for link in links:
                for type_id in link.type_ids:
                    if type_id not in types:
                        raise _unknown_type(a, b, type_id, types)
            self._lock(tx, a, b, [(x.from_id, x.to_id) for x in links])
            removed = 0
            for link in links:
                if not (is_record_id(link.from_id) and is_record_id(link.to_id)):
                    continue
                labels = [types[i].label for i in link.type_ids] or [None]
                if None in labels:
                    labels = [None]
                for label in labels:
                    removed += association_sql.dissociate(tx, a, link.from_id, b, link.to_id, label)
            return removed

        return self._write(source, work)

    def associations_page(
        self,
        object_name: str,
        record_id: int,
        to_object: str,
        *,
        after: int = 0,
        limit: int = MAX_PAGE,
    ) -> AssociationPage:
        """A live record's associations with ``to_object`` records, in other-record id order."""

        def work(conn: Any) -> AssociationPage:
            obj, to = load_object(conn, object_name), load_object(conn, to_object)
            return _page(conn, obj, to, record_id, after, limit)

        return self._read(work)

    def associations_pages(
        self,
        object_name: str,
        requests: Sequence[tuple[int, int]],
        to_object: str,
        *,
        limit: int = MAX_PAGE,
    ) -> list[AssociationPage | RecordWriteError]:
        """``associations_page`` for many (record id, after) in one read; absent ones fail."""

        def work(conn: Any) -> list[AssociationPage | RecordWriteError]:
            obj, to = load_object(conn, object_name), load_object(conn, to_object)
            out: list[AssociationPage | RecordWriteError] = []
            for record_id, after in requests:
                try:
                    out.append(_page(conn, obj, to, record_id, after, limit))
                except RecordWriteError as error:
                    out.append(error)
            return out

        return self._read(work)

    # ------------------------------------------------------------ labels and definitions

    def update_label(
        self,
        from_object: str,
        to_object: str,
        type_id: int,
        label: str,
        inverse: str | None = None,
        source: ChangeSource | None = None,
    ) -> list[AssociationLabel]:
        """Rename a user-defined label (and its inverse); returns both directions' types."""
        return self._write(
            source or ChangeSource.cli(),
            lambda tx: association_sql.update_label(
                tx, tx.object(from_object), tx.object(to_object), type_id, label, inverse
            ),
        )

    def delete_label(
        self,
        from_object: str,
        to_object: str,
        type_id: int,
        source: ChangeSource | None = None,
    ) -> None:
        """Delete a user-defined label, both directions; refused while records carry it."""
        self._write(
            source or ChangeSource.cli(),
            lambda tx: association_sql.delete_label(
                tx, tx.object(from_object), tx.object(to_object), type_id
            ),
        )

    def association_definitions(
        self, object_name: str, *, include_archived: bool = False
    ) -> list[AssociationLabel]:
        """Every association type from ``object_name`` to any object."""
        return self._read(
            lambda conn: association_sql.labels_from(
                conn, load_object(conn, object_name, include_archived=include_archived)
            )
        )

    def define_association(
        self,
        from_object: str,
        to_object: str,
        name: str | None = None,
        source: ChangeSource | None = None,
    ) -> AssociationLabel:
        """Allow the two objects to be associated; the default a→b type (existing or new)."""
        return self._write(
            source or ChangeSource.cli(),
            lambda tx: association_sql.define_association(
                tx, tx.object(from_object), tx.object(to_object), name
            ),
        )

    def delete_association_definition(
        self, object_name: str, type_id: int, source: ChangeSource | None = None
    ) -> None:
        """Remove a custom object's association definition (both directions) while unused."""
        self._write(
            source or ChangeSource.cli(),
            lambda tx: association_sql.delete_definition(tx, tx.object(object_name), type_id),
        )


def _wanted_types(
    a: LoadedObject, b: LoadedObject, types: dict[int, AssociationLabel], link: LinkRequest
) -> list[AssociationLabel]:
    for type_id in link.type_ids:
        if type_id not in types:
            raise _unknown_type(a, b, type_id, types)
    default = [x for x in types.values() if x.label is None]
    if not default:
        raise ValidationError(
            a.name, "associations", b.name, f"{a.name} cannot be associated with {b.name}"
        )
    chosen = [types[i] for i in dict.fromkeys(link.type_ids)]
    # The default type goes first: association_sql.associate adds it with any label anyway.
    return [x for x in chosen if x.label is None] + [x for x in chosen if x.label is not None] or [
        default[0]
    ]


def _unknown_type(
    a: LoadedObject, b: LoadedObject, type_id: int, types: dict[int, AssociationLabel]
) -> ValidationError:
    known = ", ".join(f"{i} ({x.label or 'unlabelled'})" for i, x in sorted(types.items()))
    return ValidationError(
        a.name,
        "associationTypeId",
        type_id,
        f"no association type {type_id} from {a.name} to {b.name}; types: {known or '(none)'}",
    )


def _page(
    conn: Any, obj: LoadedObject, to: LoadedObject, record_id: int, after: int, limit: int
) -> AssociationPage:
    if not is_record_id(record_id) or record_id not in read_records(conn, obj, [record_id]):
        raise record_not_found(obj, record_id)
    page, next_after = association_sql.list_associations_page(
        conn, obj, record_id, to, after=max(0, after), limit=max(1, min(limit, MAX_PAGE))
    )
    return AssociationPage(page, next_after)
