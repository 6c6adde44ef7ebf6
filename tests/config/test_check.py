"""``check_config``: the configuration against the store's objects, properties and labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigProblem, check_config, load_config, read_config
from store import OptionSpec, PropertySpec, Store
from tests.config._helpers import FIXTURES, sync_yaml, write

SYNC = """\
connector: shop
external_object: customers
crm_object: contacts
"""


def check(tmp_path: Path, store: Store, body: str) -> list[ConfigProblem]:
    config, problems = read_config(write(tmp_path, sync_yaml(body)), env={})
    assert problems == [], [str(p) for p in problems]
    return check_config(config, store)


def test_good_config_has_no_problems(store: Store) -> None:
    config = load_config(FIXTURES / "good.yaml", env={"ERP_PASSWORD": "x"})
    assert check_config(config, store) == []


# (case, sync body, key, message fragment, suggestion)
CASES = [
    (
        "unknown object",
        SYNC.replace("contacts", "contact") + "fields: [{crm: email, external: e}]",
        "syncs.s.crm_object",
        "no CRM object contact",
        "contacts",
    ),
    (
        "unknown property",
        SYNC + "fields: [{crm: emial, external: e}]",
        "syncs.s.fields[0].crm",
        "contacts has no property emial",
        "email",
    ),
    (
        "unknown property in a list",
        SYNC + "fields: [{crm: [firstname, lastnam], external: n, transform: split}]",
        "syncs.s.fields[0].crm[1]",
        "no property lastnam",
        "lastname",
    ),
    (
        "missing option",
        SYNC + "fields: [{crm: lifecyclestage, external: s, direction: to_crm, values: {a: leed}}]",
        "syncs.s.fields[0].values.a",
        "leed is not an option of lifecyclestage",
        "lead",
    ),
    (
        "missing default option",
        SYNC
        + "fields: [{crm: lifecyclestage, external: s, direction: to_crm, values: {a: lead}, unmapped: default, default: custmer}]",
        "syncs.s.fields[0].default",
        "custmer is not an option",
        "customer",
    ),
    (
        "read-only",
        SYNC + "fields: [{crm: hs_email_domain, external: d}]",
        "syncs.s.fields[0].crm",
        "read-only",
        None,
    ),
    (
        "number onto string",
        SYNC + "fields: [{crm: city, external: c, transform: number}]",
        "syncs.s.fields[0].transform",
        "transform number does not fit city, a string property",
        None,
    ),
    (
        "value map onto number",
        SYNC
        + "fields: [{crm: associatedcompanyid, external: c, direction: to_external, values: {a: b}}]",
        "syncs.s.fields[0].values",
        "a value map does not fit",
        None,
    ),
    (
        "match not unique",
        SYNC + "match: {crm: firstname, external: first}\nfields: [{crm: email, external: e}]",
        "syncs.s.match.crm",
        "firstname is not unique",
        "email",
    ),
    (
        "match unknown",
        SYNC + "match: {crm: emal, external: e}\nfields: [{crm: email, external: e}]",
        "syncs.s.match.crm",
        "no property emal",
        "email",
    ),
    (
        "filter property unknown",
        SYNC
        + "filters: {crm: [{field: lifecyclestag, value: lead}]}\nfields: [{crm: email, external: e}]",
        "syncs.s.filters.crm[0].field",
        "no property lifecyclestag",
        "lifecyclestage",
    ),
    (
        "association object unknown",
        SYNC
        + "fields: [{crm: email, external: e}]\nassociations: [{external: f, crm_object: companys, sync: s}]",
        "syncs.s.associations[0].crm_object",
        "no CRM object companys",
        "companies",
    ),
    (
        "association label unknown",
        SYNC
        + "fields: [{crm: email, external: e}]\nassociations: [{external: f, crm_object: contacts, label: Primari}]",
        "syncs.s.associations[0].label",
        "no label Primari",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "key", "fragment", "suggestion"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_store_problem(
    tmp_path: Path, store: Store, body: str, key: str, fragment: str, suggestion: str | None
) -> None:
    found = check(tmp_path, store, body)
    matching = [p for p in found if p.key == key]
    assert matching, [str(p) for p in found]
    assert fragment in matching[0].message
    assert matching[0].suggestion == suggestion
    assert matching[0].line is not None and matching[0].column is not None


def test_label_suggestion(tmp_path: Path, store: Store) -> None:
    body = SYNC + "fields: [{crm: email, external: e}]\n"
    body = body.replace("contacts", "contacts") + (
        "associations: [{external: f, crm_object: companies, label: Primari, sync: c}]\n"
    )
    text = sync_yaml(body) + (
        "  c:\n    connector: shop\n    external_object: customers\n    crm_object: companies\n"
        "    fields: [{crm: name, external: name}]\n"
    )
    config, problems = read_config(write(tmp_path, text), env={})
    assert problems == []
    found = check_config(config, store)
    assert [(p.key, p.suggestion) for p in found] == [("syncs.s.associations[0].label", "Primary")]


def test_bool_and_enumeration_targets(tmp_path: Path, store: Store) -> None:
    store.create_property(
        "contacts", PropertySpec(name="vip", label="VIP", type="bool", field_type="booleancheckbox")
    )
    store.create_property(
        "contacts",
        PropertySpec(
            name="tier",
            label="Tier",
            type="enumeration",
            field_type="select",
            options=(OptionSpec("gold", "Gold"), OptionSpec("silver", "Silver")),
        ),
    )
    body = SYNC + (
        "fields:\n"
        "  - {crm: vip, external: v, values: {Y: 'true', N: 'no'}}\n"
        "  - {crm: tier, external: t, values: {G: gold, S: silvr}}\n"
        "  - {crm: vip, external: v2, direction: to_external, transform: boolean}\n"
    )
    found = check(tmp_path, store, body)
    assert [(p.key, p.suggestion) for p in found] == [
        ("syncs.s.fields[0].values.N", None),
        ("syncs.s.fields[1].values.S", "silver"),
    ]


def test_every_problem_at_once(tmp_path: Path, store: Store) -> None:
    body = SYNC + (
        "match: {crm: phone, external: p}\n"
        "fields:\n"
        "  - {crm: emial, external: e}\n"
        "  - {crm: hs_email_domain, external: d}\n"
        "  - {crm: city, external: c, transform: date}\n"
    )
    found = check(tmp_path, store, body)
    assert [p.key for p in found] == [
        "syncs.s.fields[0].crm",
        "syncs.s.fields[1].crm",
        "syncs.s.fields[2].transform",
        "syncs.s.match.crm",
    ]
