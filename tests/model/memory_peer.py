"""The memory peer: the ``memory`` connector's in-process system, changed by "another user"
directly (``MemorySystem.add``/``edit``/``remove``), as a second application would.

Unique emails, no tombstones (a delete shows only by the id's absence), a version on every
record that the connector's writes are conditional on, like CardDAV's ETags.
"""

from __future__ import annotations

import uuid

from connectors.memory import MemorySystem, SystemRefusal, forget_systems, system
from tests.model.machine import Values

COLUMNS = {"email": "email", "firstname": "first_name", "lastname": "last_name"}


class MemoryPeer:
    """One system for the whole test; emptied for each example."""

    external_object = "customers"
    external_fields = COLUMNS

    def __init__(self) -> None:
        self.system_name = f"model-{uuid.uuid4().hex[:8]}"
        self.system = self._new_system()
        fields = list(COLUMNS.values())
        self.env: dict[str, str] = {}
        self.connector_yaml = (
            f"type: memory\nsystem: {self.system_name}\nobjects:\n"
            f"  customers: {{fields: [{', '.join(fields)}], unique: [email],"
            " lookback_seconds: 1}\n"
        )

    def close(self) -> None:
        forget_systems(self.system_name)

    def _new_system(self) -> MemorySystem:
        forget_systems(self.system_name)
        made = system(self.system_name)
        made.define(self.external_object, unique=["email"], fields=list(COLUMNS.values()))
        return made

    def reset(self) -> None:
        # A new system, not an emptied one: ids count from 1 again, so an example's report
        # names the same ids however many examples ran before it.
        self.system = self._new_system()

    def create(self, values: Values) -> str | None:
        try:
            made = self.system.add(self.external_object, {COLUMNS[k]: v for k, v in values.items()})
        except SystemRefusal:
            return None  # the system refuses a second record with one email
        return made.id

    def edit(self, external_id: str, values: Values) -> bool:
        try:
            changes = {COLUMNS[k]: v for k, v in values.items()}
            self.system.edit(self.external_object, external_id, changes)
        except SystemRefusal:
            return False
        return True

    def delete(self, external_id: str) -> None:
        self.system.remove(self.external_object, external_id)

    def rows(self) -> dict[str, Values]:
        return {
            r.id: {prop: r.fields.get(column) for prop, column in COLUMNS.items()}
            for r in self.system.records(self.external_object)
        }

    def snapshot(self) -> object:
        return [(r.id, r.version) for r in self.system.records(self.external_object)]

    def version(self, external_id: str) -> str | None:
        # Every edit bumps it, one that writes the values a record already has too.
        record = self.system.get(self.external_object, external_id)
        return None if record is None or record.deleted else str(record.version)
