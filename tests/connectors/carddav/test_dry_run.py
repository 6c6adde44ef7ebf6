"""The dry run is the pass, against a real Radicale address book (issue 13, defect 12).

A contact already on both sides (a card and a CRM record with the same email) is linked by
the first pass's inbound page; the dry run used to plan an outbound create for it as well,
because its rolled-back inbound left no link for its outbound plan to see.
"""

from __future__ import annotations

from pathlib import Path

from config.load import load_config
from store import ChangeSource, SourceType, Store
from syncd.engine import build_connector, build_spec, run_sync

from .conftest import PASSWORD, USER, Radicale, vcard
from .test_engine_e2e import CONFIG

UI = ChangeSource(SourceType.CRM_UI, "test-user")


def test_dry_run_plans_the_link_the_real_pass_makes(
    store: Store, radicale: Radicale, tmp_path: Path
) -> None:
    book = radicale.new_book()
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(url=book, user=USER))
    config = load_config(path, env={"CARDDAV_PASSWORD": PASSWORD})
    spec = build_spec(config, config.syncs["phonebook-contacts"])
    connector = build_connector(config, "phonebook")
    try:
        radicale.put(f"{book}ann.vcf", vcard("ann", "Ann", "", "ann@x.io"))
        ann = store.create_record("contacts", {"email": "ann@x.io", "lastname": "Lee"}, UI)
        cy = store.create_record("contacts", {"email": "cy@x.io", "firstname": "Cy"}, UI)

        planned = run_sync(spec, connector, store, dry_run=True)
        real = run_sync(spec, connector, store)
    finally:
        connector.close()

    def actions(rows: list[tuple[str, str, int | None]]) -> list[tuple[str, str, int | None]]:
        return sorted(rows)

    plan = actions([(r.direction.value, r.action.value, r.crm_id) for r in planned.planned])
    done = actions(
        [(e.direction, e.action, e.crm_id) for e in store.sync_log(sync="phonebook-contacts")]
    )
    assert ("outbound", "created", ann.id) not in plan  # linked, never created twice
    assert plan == done
    assert ("outbound", "created", cy.id) in done
    assert planned.as_dict() == real.as_dict()
    assert len(radicale.hrefs(book)) == 2  # Ann once, Cy
