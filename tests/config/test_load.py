"""Loading: the good file round trip, and every kind of mistake located at line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigErrors, ConfigProblem, load_config
from config.loader import MAX_DEPTH, MAX_FILE_BYTES
from conflict.model import Rule
from mapping import E164, EnumMap, Lowercase, SplitJoin
from tests.config._helpers import FIXTURES, HEAD, load, problems, sync_yaml, write

ENV = {"ERP_PASSWORD": "hunter2-secret"}


def test_good_config_round_trip() -> None:
    config = load_config(FIXTURES / "good.yaml", env=ENV)
    assert config.store_url == "sqlite:///syncd.db"
    assert config.server_listen == "127.0.0.1:8080"
    assert config.log_retention_days == 14
    assert set(config.connectors) == {"erp"}
    erp = config.connectors["erp"]
    assert erp.type == "fake"
    assert erp.options.url.get_secret_value() == "postgresql://erp:hunter2-secret@db/erp"  # type: ignore[attr-defined]
    customers = config.syncs["erp-customers"]
    assert customers.name == "erp-customers"
    assert customers.schedule.every == 60.0
    assert customers.conflict is Rule.MOST_RECENT
    assert customers.deletes.from_external == "archive"
    assert customers.delete_brake.max_count == 50
    assert customers.filters.external[0].values == ["active", "prospect"]
    assert customers.match is not None and customers.match.crm == "email"
    mappings = customers.mappings()
    assert [type(m.transform) for m in mappings] == [Lowercase, SplitJoin, E164, EnumMap]
    enum = mappings[3].transform
    assert isinstance(enum, EnumMap)
    # Quoted "yes" stays the word, unquoted true is the word true, 1 keeps its text.
    assert dict(enum.values) == {
        "active": "customer",
        "prospect": "lead",
        "yes": "other",
        "true": "evangelist",
        "1": "opportunity",
    }
    assert customers.field_rules() == {
        "email": None,
        "firstname": None,
        "lastname": None,
        "phone": Rule.CRM_WINS,
        "lifecyclestage": None,
    }
    assert customers.field_directions()["lifecyclestage"] == "to_crm"
    firms = config.syncs["erp-firms"]
    assert firms.schedule.cron == "*/5 * * * *"
    # Two-way fields in a to_crm sync are narrowed to to_crm.
    assert {m.direction for m in firms.mappings()} == {"to_crm"}
    assert firms.field_directions() == {"name": "to_crm", "domain": "to_crm"}
    assert config.association_sync(customers, customers.associations[0]) is firms


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.syncs == {} and config.connectors == {}
    assert config.store_url == "sqlite:///syncd.db"


def test_schedule_durations(tmp_path: Path) -> None:
    for text, seconds in (("90", 90.0), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1.5", 1.5)):
        config = load(
            tmp_path,
            sync_yaml(
                f"""\
                connector: shop
                external_object: customers
                crm_object: contacts
                schedule: {{every: {text}}}
                fields: [{{crm: email, external: email}}]
                """
            ),
        )
        assert config.syncs["s"].schedule.every == seconds


SYNC = """\
connector: shop
external_object: customers
crm_object: contacts
"""

# (case, sync body, key, the text the problem must point at, message fragment, suggestion).
LOCATED = [
    (
        "bad direction value",
        SYNC + "direction: twoway\nfields: [{crm: email, external: email}]\n",
        "syncs.s.direction",
        "twoway",
        "expected one of: two-way, to_crm, to_external",
        "two-way",
    ),
    (
        "unknown sync key",
        SYNC + "fileds: []\nfields: [{crm: email, external: email}]\n",
        "syncs.s.fileds",
        "fileds",
        "unknown key",
        "fields",
    ),
    (
        "missing required key",
        "connector: shop\nexternal_object: customers\nfields: [{crm: email, external: email}]\n",
        "syncs.s.crm_object",
        "s:",
        "is required",
        None,
    ),
    (
        "unknown field key",
        SYNC + "fields:\n  - {crm: email, external: email, transfrom: trim}\n",
        "syncs.s.fields[0].transfrom",
        "transfrom",
        "unknown key",
        "transform",
    ),
    (
        "bad rule",
        SYNC + "conflict: crm_win\nfields: [{crm: email, external: email}]\n",
        "syncs.s.conflict",
        "crm_win",
        "expected one of: crm_wins, external_wins, most_recent, manual",
        "crm_wins",
    ),
    (
        "bad duration",
        SYNC + "schedule: {every: soon}\nfields: [{crm: email, external: email}]\n",
        "syncs.s.schedule.every",
        "soon",
        "expected a duration",
        None,
    ),
    (
        "every and cron",
        SYNC
        + "schedule: {every: 5m, cron: '* * * * *'}\nfields: [{crm: email, external: email}]\n",
        "syncs.s.schedule",
        "{every",
        "give every or cron, not both",
        None,
    ),
    (
        "bad cron",
        SYNC + "schedule: {cron: '61 * * * *'}\nfields: [{crm: email, external: email}]\n",
        "syncs.s.schedule.cron",
        "'61",
        "not a cron line",
        None,
    ),
    (
        "batch size too big",
        SYNC + "batch_size: 5000\nfields: [{crm: email, external: email}]\n",
        "syncs.s.batch_size",
        "5000",
        "less than or equal to 1000",
        None,
    ),
    (
        "crm is a number",
        SYNC + "fields: [{crm: 5, external: email}]\n",
        "syncs.s.fields[0].crm",
        "5, external",
        "expected a text or a list",
        None,
    ),
    (
        "no fields",
        SYNC + "fields: []\n",
        "syncs.s.fields",
        "[]",
        "at least 1 item",
        None,
    ),
    (
        "filter op without values",
        SYNC + "filters: {external: [{field: status, op: in, value: a}]}\n"
        "fields: [{crm: email, external: email}]\n",
        "syncs.s.filters.external[0]",
        "{field: status",
        "op in takes values",
        None,
    ),
    (
        "unknown transform",
        SYNC + "fields: [{crm: email, external: email, transform: lowercas}]\n",
        "syncs.s.fields[0].transform",
        "lowercas",
        "unknown transform 'lowercas'",
        None,
    ),
    (
        "bad transform option",
        SYNC + "fields: [{crm: phone, external: phone, transform: e164, options: {regon: DE}}]\n",
        "syncs.s.fields[0].options",
        "{regon",
        "unknown option regon",
        None,
    ),
    (
        "unmapped without values",
        SYNC + "fields: [{crm: email, external: email, unmapped: skip}]\n",
        "syncs.s.fields[0].unmapped",
        "skip",
        "applies only to a value map",
        None,
    ),
    (
        "values and transform",
        SYNC + "fields: [{crm: email, external: email, transform: trim, values: {a: b}}]\n",
        "syncs.s.fields[0].transform",
        "trim",
        "not both",
        None,
    ),
    (
        "unmapped default without default",
        SYNC
        + "fields: [{crm: lifecyclestage, external: s, values: {a: lead}, unmapped: default}]\n",
        "syncs.s.fields[0].default",
        "{crm: lifecyclestage",
        "required when unmapped is default",
        None,
    ),
    (
        "split with one property",
        SYNC + "fields: [{crm: firstname, external: name, transform: split}]\n",
        "syncs.s.fields[0].crm",
        "firstname",
        "fills 2 CRM properties",
        None,
    ),
    (
        "yes in a value map",
        SYNC + "fields: [{crm: lifecyclestage, external: s, values: {yes: lead}}]\n",
        "syncs.s.fields[0].values.yes",
        "yes: lead",
        "YAML reads an unquoted yes as a boolean",
        None,
    ),
    (
        "duplicate key",
        SYNC + "crm_object: companies\nfields: [{crm: email, external: email}]\n",
        "syncs.s.crm_object",
        "crm_object: companies",
        "duplicate key",
        None,
    ),
    (
        "field flowing against the sync",
        SYNC
        + "direction: to_crm\nfields: [{crm: email, external: email, direction: to_external}]\n",
        "syncs.s.fields[0].direction",
        "to_external}",
        "flows to_external but the sync only flows to_crm",
        None,
    ),
    (
        "manual on one-way field",
        SYNC + "fields: [{crm: email, external: email, direction: to_crm, conflict: manual}]\n",
        "syncs.s.fields[0].conflict",
        "manual",
        "manual needs a two-way field",
        None,
    ),
    (
        "two fields write one property",
        SYNC + "fields:\n  - {crm: email, external: a}\n  - {crm: email, external: b}\n",
        "syncs.s.fields[1].crm",
        "email, external: b",
        "CRM property email is also written by fields[0]",
        None,
    ),
    (
        "two fields write one external field",
        SYNC + "fields:\n  - {crm: firstname, external: a.b}\n  - {crm: lastname, external: a}\n",
        "syncs.s.fields[1].external",
        "a}",
        "overlaps a.b",
        None,
    ),
    (
        "unknown connector",
        SYNC.replace("shop", "shp") + "fields: [{crm: email, external: email}]\n",
        "syncs.s.connector",
        "shp",
        "no connector shp",
        "shop",
    ),
    (
        "external object not configured",
        SYNC.replace("customers", "customer") + "fields: [{crm: email, external: email}]\n",
        "syncs.s.external_object",
        "customer",
        "configures no object customer",
        "customers",
    ),
    (
        "association sync unknown",
        SYNC + "fields: [{crm: email, external: email}]\n"
        "associations: [{external: firm_id, crm_object: companies, sync: firm}]\n",
        "syncs.s.associations[0].sync",
        "firm}",
        "no sync firm",
        None,
    ),
    (
        "association without a sync to resolve it",
        SYNC + "fields: [{crm: email, external: email}]\n"
        "associations: [{external: firm_id, crm_object: companies}]\n",
        "syncs.s.associations[0].crm_object",
        "companies}",
        "no sync on connector shop links companies",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "key", "token", "fragment", "suggestion"),
    [case[1:] for case in LOCATED],
    ids=[case[0] for case in LOCATED],
)
def test_problem_is_located(
    tmp_path: Path,
    body: str,
    key: str,
    token: str,
    fragment: str,
    suggestion: str | None,
) -> None:
    text = sync_yaml(body)
    found = problems(tmp_path, text)
    matching = [p for p in found if p.key == key]
    assert matching, [str(p) for p in found]
    problem = matching[0]
    assert fragment in problem.message
    assert problem.line is not None and problem.column is not None, str(problem)
    pointed = text.splitlines()[problem.line - 1][problem.column - 1 :]
    assert pointed.startswith(token), (str(problem), pointed)
    assert problem.suggestion == suggestion
    where = f"{tmp_path / 'syncd.yaml'}:{problem.line}:{problem.column}: {key}: "
    assert str(problem).startswith(where)


def test_all_problems_at_once_in_file_order(tmp_path: Path) -> None:
    text = (
        "sever: {listen: ':8080'}\n"
        "log: {retention_days: 0}\n"
        + HEAD
        + "  s:\n    connector: shop\n    external_object: customers\n    crm_object: contacts\n"
        "    direction: sideways\n    fields: [{crm: email}]\n"
    )
    found = problems(tmp_path, text)
    assert [(p.key, p.line) for p in found] == [
        ("sever", 1),
        ("log.retention_days", 2),
        ("syncs.s.direction", 14),
    ]
    assert found[0].suggestion == "server"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    found = problems(tmp_path, "- a\n- b\n")
    assert len(found) == 1
    assert "expected a mapping of sections" in found[0].message
    assert (found[0].line, found[0].column) == (1, 1)


def test_unknown_connector_type_suggests(tmp_path: Path) -> None:
    found = problems(tmp_path, "connectors:\n  shop:\n    type: fak\n    url: x\n")
    assert [(p.key, p.line, p.column, p.suggestion) for p in found] == [
        ("connectors.shop.type", 3, 11, "fake")
    ]


def test_connector_options_are_validated_by_its_model(tmp_path: Path) -> None:
    found = problems(tmp_path, "connectors:\n  shop:\n    type: fake\n    ulr: x\n")
    keys = {(p.key, p.line, p.column, p.suggestion) for p in found}
    assert ("connectors.shop.ulr", 4, 5, "url") in keys
    assert any(p.key == "connectors.shop.url" and "required" in p.message for p in found)


def test_missing_env_var_is_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path, "store: {url: 'postgresql://u:${DB_PASSWORD}@h/db'}\n", env={"OTHER": "x"}
    )
    assert [(p.key, p.line, p.column) for p in found] == [("store.url", 1, 14)]
    assert "environment variable DB_PASSWORD is not set" in found[0].message


def test_env_escape_keeps_literal(tmp_path: Path) -> None:
    config = load(tmp_path, "store: {url: 'sqlite:///$${X}.db'}\n", env={"X": "no"})
    assert config.store_url == "sqlite:///${X}.db"


SECRET = "s3cr3t-Pa55w0rd"


def test_secret_never_in_errors(tmp_path: Path) -> None:
    text = sync_yaml(
        SYNC + "direction: '${SECRET}'\nfields: [{crm: email, external: '${SECRET}'}]\n"
    )
    text = text.replace('url: "postgresql://shop@db/shop"', "url: 42")
    found = problems(tmp_path, text, env={"SECRET": SECRET})
    assert found
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text, env={"SECRET": SECRET})
    assert SECRET not in str(caught.value)
    assert all(SECRET not in str(p) and SECRET not in repr(p) for p in found)


def test_secret_never_in_repr(tmp_path: Path) -> None:
    text = "store: {url: 'postgresql://u:${PW}@h/db'}\n" + HEAD.replace(
        "postgresql://shop@db/shop", "postgresql://u:${PW}@h/shop"
    )
    config = load(tmp_path, text, env={"PW": SECRET})
    assert SECRET in config.store_url
    assert SECRET not in repr(config) and SECRET not in str(config)
    connector = config.connectors["shop"]
    assert SECRET not in repr(connector) and SECRET not in repr(connector.options)


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path / "nope.yaml")
    assert len(caught.value.problems) == 1
    assert "cannot read it" in caught.value.problems[0].message


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    found = problems(tmp_path, "store:\n  url: [unclosed\nserver: {}\n")
    assert len(found) == 1
    assert found[0].line is not None and found[0].column is not None
    assert "invalid YAML" in found[0].message


def test_oversized_file_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigErrors) as caught:
        load_config(path)
    assert "larger than the 1 MB limit" in str(caught.value)


def test_alias_bomb_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    found = problems(tmp_path, "\n".join(lines) + "\n")
    assert len(found) == 1
    assert "once aliases are expanded" in found[0].message


def test_small_alias_use_is_fine(tmp_path: Path) -> None:
    text = sync_yaml(SYNC + "fields: &f [{crm: email, external: email}]\n", name="a")
    text += "  b:\n    connector: shop\n    external_object: customers\n    crm_object: companies\n"
    text += "    direction: to_crm\n    fields: *f\n"
    config = load(tmp_path, text)
    assert config.syncs["b"].fields == config.syncs["a"].fields


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 5000], ids=["deep", "very-deep"])
def test_deep_nesting_refused(tmp_path: Path, depth: int) -> None:
    found = problems(tmp_path, "store: " + "[" * depth + "]" * depth + "\n")
    assert len(found) == 1
    assert f"nested deeper than {MAX_DEPTH} levels" in found[0].message


def test_problem_text_without_position() -> None:
    problem = ConfigProblem("f.yaml", None, None, "syncs.s", "broken", None)
    assert str(problem) == "f.yaml: syncs.s: broken"
    assert (
        str(ConfigProblem("f.yaml", 3, 7, "k", "m", "x")) == "f.yaml:3:7: k: m (did you mean 'x'?)"
    )


@pytest.mark.parametrize(("key", "default"), [("workers", 1), ("threads", 2)])
def test_server_processes_and_threads_are_read_and_bounded(
    tmp_path: Path, key: str, default: int
) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(f"server: {{listen: '127.0.0.1:8080', {key}: 6}}\n")
    assert getattr(load_config(path), f"server_{key}") == 6
    path.write_text("server: {}\n")
    assert getattr(load_config(path), f"server_{key}") == default
    for bad in ("0", "65", "'2'", "1.5", "[2]"):
        found = problems(tmp_path, f"server: {{{key}: {bad}}}\n")
        assert [p.key for p in found] == [f"server.{key}"], [str(p) for p in found]
