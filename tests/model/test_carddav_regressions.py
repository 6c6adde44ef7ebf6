"""Named regression cases of the CardDAV model test (tests/model/test_carddav_model.py).

Each is a sequence the model found, shrunk by hand, replayed step by step on the same machine
(a real Radicale server, the store on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from store import Store
from tests.connectors.carddav.conftest import Radicale
from tests.model.carddav_peer import CardDavPeer
from tests.model.machine import machine_class


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_carddav_name_given_on_a_card_syncd_wrote_without_one_reaches_the_crm(
    radicale: Radicale, store_factory: Callable[[], Store], tmp_path: Path
) -> None:
    """Four contacts synced to cards (a fifth archived before its first pass), one of them
    with no name; then its last name edited in the CRM and on its card. Under
    ``external_wins`` the card's value must win on both sides. syncd wrote that contact's
    vCard 3.0 card without the N line 3.0 requires, so the second client had nowhere to put
    the name and the model saw the card's last name lost (now: an empty ``N:;;;;``)."""
    machine, *_ = machine_class(
        CardDavPeer(radicale), store_factory, tmp_path, rule="external_wins", deletes="ignore"
    )
    state = machine()
    state.crm_create(email=4, first=2, last=2)
    state.crm_archive(index=3)
    state.crm_create(email=2, first=0, last=0)
    state.crm_create(email=3, first=3, last=2)
    state.crm_create(email=0, first=1, last=2)
    state.sync_pass(full=False)
    state.edit_both(crm_kind=1, ext_kind=2, index=1, prop="lastname")
    state.teardown()  # quiesces, then checks every promise


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_carddav_card_whose_create_answer_was_lost_is_linked_not_imported_as_new(
    radicale: Radicale, store_factory: Callable[[], Store], tmp_path: Path
) -> None:
    """A CRM contact goes out as a card and the pass dies before it records the outcome;
    then the CRM moves the contact to another email. The next pass did not look for the
    card (a create to a name its key gives was "always safe to send again"), so its read
    imported the card as a new CRM contact on the freed email; the create sent again
    landed on the same card and took it from that contact, which then looked deleted
    outside and was archived, though nobody deleted anything (found x5,
    postgresql-crm_wins-archive)."""
    machine, *_ = machine_class(
        CardDavPeer(radicale), store_factory, tmp_path, rule="crm_wins", deletes="archive"
    )
    state = machine()
    state.crm_create(email=4, first=4, last=3)
    state.crm_edit(index=8, kind=3, prop="lastname")
    state.crashed_pass(at=5, full=False, point="before_commit")
    state.crm_edit(index=14, kind=1, prop="email")
    state.sync_pass(full=False)
    state.quiesce_and_check()
    state.crm_archive(index=10)
    state.teardown()  # quiesces, then checks every promise
