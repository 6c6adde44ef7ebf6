"""The ``sql`` connector's YAML options: a database URL and one table per object."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from connectors.base import ConnectorOptions

__all__ = ["SqlObjectOptions", "SqlOptions"]


class SqlObjectOptions(ConnectorOptions):
    """One external object: a table, its id and timestamp columns, what to expose."""

    # The input may sit next to the connector's URL; never echo it in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    table: str
    id: str = "id"
    updated_at: str = "updated_at"
    #: A boolean soft-delete column; rows with it true are reported as tombstones.
    deleted: str | None = None
    #: The columns exposed as fields (all when absent); id and timestamps are read anyway.
    columns: list[str] | None = None
    #: How far back a resumed run re-reads, for rows committed late with older timestamps.
    lookback_seconds: float = Field(default=5.0, ge=0)
    #: A text column where every create writes the engine's key (``<sync>:<CRM id>``), so a
    #: row made by a create whose outcome was lost (a crash, a lost commit answer) is found
    #: again by it, even without a match key.
    create_key_field: str | None = Field(default=None, min_length=1)
    #: A timestamp column set when a row is made: a row that got a deleted row's id back
    #: (SQLite without AUTOINCREMENT) is then told from an edit of that row.
    created_at: str | None = Field(default=None, min_length=1)


class SqlOptions(ConnectorOptions):
    """The ``sql`` connector's YAML options."""

    # A validation error would otherwise print the input, URL and password included.
    model_config = ConfigDict(hide_input_in_errors=True)

    url: str = Field(repr=False)
    objects: dict[str, SqlObjectOptions]
    schema_name: str | None = None

    def lost_create_risk(self, external_object: str, match_field: str | None) -> str | None:
        obj = self.objects.get(external_object)
        if obj is None or match_field is not None or obj.create_key_field is not None:
            return None
        return (
            f"object {external_object} has no way to find a record by a match key: after a "
            "crash or a lost commit answer, a row made by a create cannot be found again, so "
            "it may be parked for an operator; set create_key_field: <a text column> for "
            "syncd's own key, or the sync's match: to a column that identifies a row"
        )
