"""The ``sql`` connector: an external system that is a table in any SQLAlchemy database.

Each configured object is one table with an id column and an ``updated_at`` column. The
package is split by concern: ``options`` (the YAML), ``dialect`` (what differs between
SQLite, PostgreSQL and MariaDB), ``values`` (resolved objects, row <-> record), ``database``
(engine, connections, failure kinds, reflection), ``changes`` (pages of changes),
``reading`` and ``writing`` (the two halves of the contract). This class only wires them
to the contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Engine

from connectors.base import (
    ChangePage,
    Connector,
    ConnectorOptions,
    CreateCheck,
    Cursor,
    ExternalRecord,
    WriteRequest,
    WriteResult,
)
from connectors.sql.database import Database
from connectors.sql.options import SqlOptions
from connectors.sql.reading import Reader
from connectors.sql.writing import Writer

if TYPE_CHECKING:
    from connectors.http import HttpClients

__all__ = ["SqlConnector"]


class SqlConnector(Connector[SqlOptions]):
    """Reads and writes rows of tables in one database (SQLite, PostgreSQL, MariaDB, ...)."""

    type_name: ClassVar[str] = "sql"
    options_model: ClassVar[type[ConnectorOptions]] = SqlOptions

    def __init__(
        self, name: str, options: ConnectorOptions, *, http: HttpClients | None = None
    ) -> None:
        super().__init__(name, options, http=http)
        self._db = Database(name, self.options)
        self._reader = Reader(self._db)
        self._writer = Writer(self._db)

    def check_object(self, external_object: str) -> str | None:
        """The table is there with its columns; refused credentials raise ``AuthError``."""
        options = self.options.objects.get(external_object)
        if options is None:
            return self._db.unknown_object(external_object)
        if self._db.resolved(external_object):
            return None
        problem, resolved = self._db.reflect(external_object, options)
        if resolved is not None:
            self._db.keep(external_object, resolved)
        return problem

    def fetch_changes(
        self, external_object: str, cursor: Cursor | None, *, limit: int, resume: bool
    ) -> ChangePage:
        return self._reader.fetch_changes(external_object, cursor, limit=limit, resume=resume)

    def fetch_by_ids(self, external_object: str, ids: Sequence[str]) -> list[ExternalRecord]:
        return self._reader.fetch_by_ids(external_object, ids)

    def find_created(
        self, external_object: str, requests: Sequence[WriteRequest]
    ) -> list[CreateCheck]:
        return self._reader.find_created(external_object, requests)

    def finds_before_create(self, external_object: str, field_name: str) -> bool:
        """Every create looks for a live row holding its match value first."""
        return field_name in self._db.object(external_object).fields

    def find_by(
        self, external_object: str, field_name: str, values: Sequence[Any]
    ) -> dict[Any, ExternalRecord]:
        return self._reader.find_by(external_object, field_name, values)

    def iter_ids(self, external_object: str) -> Iterator[str]:
        return self._reader.iter_ids(external_object)

    def write(self, external_object: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        return self._writer.write(external_object, requests)

    def delete(self, external_object: str, ids: Sequence[str]) -> list[WriteResult]:
        return self._writer.delete(external_object, ids)

    def close(self) -> None:
        self._reader.changes.forget()
        self._db.close()

    def _get_engine(self) -> Engine:
        """The engine (opened on first use), for tests that watch its statements."""
        return self._db.get_engine()
