"""The dry run is the pass: against the REST test API, ``--dry-run`` plans exactly the
actions the real pass then takes, record by record (issue 13, defect 12).

A record that exists on both sides before they are linked is linked by its match key, never
created a second time; the dry run must say so too, whether the link comes from the inbound
page (the external record changed) or from the outbound create's search (the external
record lies behind the cursor, so only the connector's ``find_param`` search finds it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.load import load_config
from connectors.base import Connector
from store import ChangeSource, LogSpec, SourceType, Store
from syncd.engine import SyncSpec, build_connector, build_spec, run_sync
from tests.connectors.rest.server import TOKEN, Server

UI = ChangeSource(SourceType.CRM_UI, "test-user")

CONFIG = """
store: {url: "sqlite:///unused.db"}
connectors:
  shop:
    type: rest
    base_url: "${SHOP_URL}"
    auth: {type: bearer, token: "${SHOP_TOKEN}"}
    rate_limit: {requests: 1000, per_seconds: 1}
    objects:
      customers:
        path: /api/cursor/customers
        records_path: data
        paging: {type: cursor, param: cursor, next_path: meta.next, limit_param: limit}
        updated_since_param: updated_since
        create: {method: POST, path: /api/customers}
        update: {method: PATCH, path: "/api/customers/{id}"}
        delete: {method: DELETE, path: "/api/customers/{id}"}
        find_param: email
        lookback_seconds: 1
syncs:
  shop-customers:
    connector: shop
    external_object: customers
    crm_object: contacts
    match: {crm: email, external: email}
    conflict: crm_wins
    fields:
      - {crm: email, external: email, transform: lowercase}
      - {crm: firstname, external: first_name}
"""

Action = tuple[str, str, int | None, str | None]


@pytest.fixture
def sync(store: Store, api: Server, tmp_path: Path) -> Iterator[tuple[SyncSpec, Connector]]:
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={"SHOP_URL": api.url, "SHOP_TOKEN": TOKEN})
    connector = build_connector(config, "shop")
    try:
        yield build_spec(config, config.syncs["shop-customers"]), connector
    finally:
        connector.close()


def _actions(rows: list[LogSpec]) -> list[Action]:
    return sorted((r.direction.value, r.action.value, r.crm_id, r.external_id) for r in rows)


def _real_actions(store: Store, after: int) -> list[Action]:
    return sorted(
        (e.direction, e.action, e.crm_id, e.external_id)
        for e in store.sync_log(sync="shop-customers", after_id=after)
    )


def test_dry_run_plans_the_links_the_real_pass_makes_not_creates(
    store: Store, api: Server, sync: tuple[SyncSpec, Connector]
) -> None:
    spec, connector = sync
    api.state.add(email="old@x.io", first_name="Old")
    run_sync(spec, connector, store)  # a first pass: the cursor now stands after Old's row
    # Ann is on both sides: her shop row changed, so the inbound page brings it.
    ann = store.create_record("contacts", {"email": "ann@x.io", "firstname": "Ann"}, UI)
    ann_row = api.state.add(email="ann@x.io", first_name="Ann")
    # Bea is on both sides too, but her shop row is old (behind the cursor): only the
    # create's search by email finds it.
    bea = store.create_record("contacts", {"email": "bea@x.io", "firstname": "Bea"}, UI)
    bea_row = api.state.add(email="bea@x.io", first_name="Beatrice")
    api.state.customers[str(bea_row["id"])]["updated_at"] = "2001-01-01T00:00:00Z"
    # Cy is only in the CRM: a real create.
    cy = store.create_record("contacts", {"email": "cy@x.io", "firstname": "Cy"}, UI)

    after = store.sync_log(sync="shop-customers", newest=True, limit=1)[-1].id
    planned = run_sync(spec, connector, store, dry_run=True)
    real = run_sync(spec, connector, store)

    ann_id, bea_id = str(ann_row["id"]), str(bea_row["id"])
    assert _actions(planned.planned) == [
        ("inbound", "linked", ann.id, ann_id),
        ("outbound", "created", cy.id, None),
        ("outbound", "linked", bea.id, bea_id),
    ]
    made = api.state.by_email("cy@x.io")
    assert _real_actions(store, after) == [
        ("inbound", "linked", ann.id, ann_id),
        ("outbound", "created", cy.id, str(made["id"])),
        ("outbound", "linked", bea.id, bea_id),
    ]
    assert planned.as_dict() == real.as_dict()
    assert len(api.state.customers) == 4  # Old, Ann, Bea, Cy: nobody twice
