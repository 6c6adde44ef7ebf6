from __future__ import annotations

from store import Store
from tests.conftest import API


def test_created_contact_reads_back_with_automatic_properties(store: Store) -> None:
    created = store.create_record("contacts", {"email": "ann@example.com"}, API)
    got = store.get_record("contacts", created.id)
    assert got.properties["email"] == "ann@example.com"
    assert got.properties["hs_object_id"] == str(created.id)
