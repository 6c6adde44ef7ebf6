"""The REST peer: the project's JSON test API (tests/connectors/rest/server.py) on real
uvicorn, as a second application's users change it.

The API has no tombstones (a deleted customer is simply gone, found by reconciliation).
Three objects over the same customers: ``customers`` can be searched by email
(``find_param``), ``customers_nofind`` cannot (a create whose answer was lost is parked for
an operator), ``customers_idem`` cannot either but sends each create's key as an
``Idempotency-Key`` the API honours.
"""

from __future__ import annotations

import copy

from tests.connectors.rest.server import TOKEN, Server
from tests.model.machine import Values

COLUMNS = {"email": "email", "firstname": "first_name", "lastname": "last_name"}

_OBJECT = """
    path: /api/cursor/customers
    records_path: data
    paging: {{type: cursor, param: cursor, next_path: meta.next, limit_param: limit}}
    updated_since_param: updated_since
    create: {{method: POST, path: /api/customers}}
    update: {{method: PATCH, path: "/api/customers/{{id}}"}}
    delete: {{method: DELETE, path: "/api/customers/{{id}}"}}
    lookback_seconds: 1
{find}"""


class RestPeer:
    """The running test API; its state is replaced for each example."""

    external_fields = COLUMNS

    def __init__(self, server: Server, *, find: bool, idempotent: bool = False) -> None:
        self.server = server
        self.external_object = (
            "customers" if find else "customers_idem" if idempotent else "customers_nofind"
        )
        self.env = {"PEER_URL": server.url, "PEER_TOKEN": TOKEN}
        objects = "".join(
            f"  {name}:{_OBJECT.format(find=extra)}\n"
            for name, extra in (
                ("customers", "    find_param: email\n"),
                ("customers_nofind", ""),
                ("customers_idem", "    idempotency_header: Idempotency-Key\n"),
            )
        )
        self.connector_yaml = (
            'type: rest\nbase_url: "${PEER_URL}"\n'
            'auth: {type: bearer, token: "${PEER_TOKEN}"}\n'
            "rate_limit: {requests: 100000, per_seconds: 1}\n"
            "retry: {attempts: 1, max_wait_seconds: 1}\n"
            f"objects:\n{objects}"
        )

    def reset(self) -> None:
        self.server.reset()

    def _taken(self, email: str | None, but: str | None) -> bool:
        return bool(email) and any(
            (c["email"] or "").lower() == str(email).lower() and str(c["id"]) != but
            for c in self.server.state.customers.values()
        )

    def create(self, values: Values) -> str | None:
        if self._taken(values.get("email"), None):
            return None  # the application refuses a second customer with one email
        record = self.server.state.add(**{COLUMNS[k]: v for k, v in values.items()})
        return str(record["id"])

    def edit(self, external_id: str, values: Values) -> bool:
        if "email" in values and self._taken(values["email"], external_id):
            return False
        self.server.state.edit(external_id, **{COLUMNS[k]: v for k, v in values.items()})
        return True

    def delete(self, external_id: str) -> None:
        with self.server.state.lock:
            del self.server.state.customers[external_id]

    def rows(self) -> dict[str, Values]:
        with self.server.state.lock:
            return {
                key: {prop: c.get(column) for prop, column in COLUMNS.items()}
                for key, c in self.server.state.customers.items()
            }

    def snapshot(self) -> object:
        with self.server.state.lock:
            return copy.deepcopy(self.server.state.customers)

    def version(self, external_id: str) -> str | None:
        return None  # the connector reports no version: edits show in the values only
