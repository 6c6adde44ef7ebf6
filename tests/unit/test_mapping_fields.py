"""Field mappings applied to whole records, dotted paths, and the transform registry.

Direction is honoured both ways, absent fields stay absent, nested fields nest, and every
hostile record (not an object, a string where an object belongs) is a MappingError.
"""

from __future__ import annotations

from typing import Any

import pytest

from mapping import (
    MISSING,
    TRANSFORMS,
    Clash,
    Constant,
    DateFormat,
    Default,
    Direction,
    EnumMap,
    FieldMapping,
    Lowercase,
    MappingError,
    Number,
    SplitJoin,
    Transform,
    build_transform,
    check_mappings,
    find_clashes,
    get_path,
    map_to_crm,
    map_to_external,
    set_path,
)
from syncd.errors import ConfigError, RecordError

MAPPINGS = (
    FieldMapping(("email",), "email", transform=Lowercase()),
    FieldMapping(("firstname", "lastname"), "full_name", transform=SplitJoin()),
    FieldMapping(("city",), "address.city"),
    FieldMapping(("amount",), "totals.amount", transform=Number(",", ".")),
    FieldMapping(
        ("lifecyclestage",),
        "status",
        direction=Direction.TO_CRM,
        transform=EnumMap(values={"active": "customer", "prospect": "lead"}),
    ),
    FieldMapping(("hs_lead_source",), "", direction=Direction.TO_CRM, transform=Constant("shop")),
    FieldMapping(("crm_id",), "meta.crm.id", direction=Direction.TO_EXTERNAL),
)


def test_map_to_crm_whole_record() -> None:
    record = {
        "email": "Ada@Example.com",
        "full_name": "Ada King Lovelace",
        "address": {"city": "London", "zip": "N1"},
        "totals": {"amount": "1.234,50"},
        "status": "active",
        "meta": {"crm": {"id": "ignored: to_external only"}},
    }
    assert map_to_crm(MAPPINGS, record) == {
        "email": "ada@example.com",
        "firstname": "Ada",
        "lastname": "King Lovelace",
        "city": "London",
        "amount": "1234.5",
        "lifecyclestage": "customer",
        "hs_lead_source": "shop",
    }


def test_map_to_external_nests_and_honours_direction() -> None:
    crm = {
        "email": "ada@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "city": "London",
        "amount": "1234.5",
        "lifecyclestage": "customer",
        "hs_lead_source": "shop",
        "crm_id": "42",
    }
    assert map_to_external(MAPPINGS, crm) == {
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "address": {"city": "London"},
        "totals": {"amount": "1234,5"},
        "meta": {"crm": {"id": "42"}},
    }


PARTIAL: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("empty-record", {}, {"hs_lead_source": "shop"}),
    ("null-clears", {"email": None}, {"email": None, "hs_lead_source": "shop"}),
    ("null-parent-is-absent", {"address": None}, {"hs_lead_source": "shop"}),
    ("missing-leaf", {"address": {}}, {"hs_lead_source": "shop"}),
    (
        "null-name-clears-both",
        {"full_name": None},
        {"firstname": None, "lastname": None, "hs_lead_source": "shop"},
    ),
]


@pytest.mark.parametrize(
    ("record", "expected"), [c[1:] for c in PARTIAL], ids=[c[0] for c in PARTIAL]
)
def test_absent_fields_stay_absent(record: dict[str, Any], expected: dict[str, Any]) -> None:
    assert map_to_crm(MAPPINGS, record) == expected


def test_partial_crm_properties_write_only_what_is_there() -> None:
    assert map_to_external(MAPPINGS, {"lastname": "Lovelace"}) == {"full_name": "Lovelace"}
    assert map_to_external(MAPPINGS, {}) == {}


def test_skip_rule_leaves_field_out() -> None:
    skip = (
        FieldMapping(("stage",), "status", transform=EnumMap(values={"a": "b"}, unmapped="skip")),
    )
    assert map_to_crm(skip, {"status": "zzz"}) == {}
    assert map_to_external(skip, {"stage": "zzz"}) == {}
    assert map_to_crm(skip, {"status": "a"}) == {"stage": "b"}


def test_default_fills_missing_field() -> None:
    mappings = (FieldMapping(("country",), "country", transform=Default("DE")),)
    assert map_to_crm(mappings, {}) == {"country": "DE"}
    assert map_to_crm(mappings, {"country": "FR"}) == {"country": "FR"}


HOSTILE: list[tuple[str, object, str]] = [
    ("record-is-list", [1, 2], "record"),
    ("record-is-string", "email=x", "record"),
    ("record-is-none", None, "record"),
    ("parent-is-string", {"address": "London"}, "address.city"),
    ("deep-parent-is-list", {"totals": [1]}, "totals.amount"),
    ("email-is-number", {"email": 5}, "email"),
    ("amount-1,2,3", {"totals": {"amount": "1,2,3"}}, "totals.amount"),
    ("unknown-status", {"status": "churned"}, "status"),
    ("name-is-object", {"full_name": {"first": "Ada"}}, "full_name"),
    ("city-is-list", {"address": {"city": ["x"]}}, "address.city"),
    ("city-huge", {"address": {"city": "x" * 70_000}}, "address.city"),
]


@pytest.mark.parametrize(("record", "field"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_records_are_record_errors(record: Any, field: str) -> None:
    with pytest.raises(RecordError) as caught:
        map_to_crm(MAPPINGS, record)
    assert isinstance(caught.value, MappingError)
    assert caught.value.field == (None if field == "record" else field)


def test_hostile_crm_values_are_record_errors() -> None:
    with pytest.raises(MappingError) as caught:
        map_to_external(MAPPINGS, {"amount": "1,5"})
    assert caught.value.field == "amount"
    with pytest.raises(MappingError):
        map_to_external(MAPPINGS, ["not", "a", "mapping"])  # type: ignore[arg-type]


class _Broken(Transform):
    name = "broken"

    def to_crm(self, value: object) -> object:
        return 12

    def to_external(self, value: object) -> object:
        return value


def test_transform_giving_non_text_is_a_record_error() -> None:
    with pytest.raises(MappingError, match="int"):
        map_to_crm((FieldMapping(("x",), "x", transform=_Broken()),), {"x": "1"})


PATHS: list[tuple[str, object, str, object]] = [
    ("top", {"a": 1}, "a", 1),
    ("deep", {"a": {"b": {"c": {"d": "x"}}}}, "a.b.c.d", "x"),
    ("missing", {"a": {}}, "a.b.c", MISSING),
    ("null-inside", {"a": None}, "a.b", MISSING),
    ("value-is-null", {"a": {"b": None}}, "a.b", None),
    ("dict-value", {"a": {"b": {"c": 1}}}, "a.b", {"c": 1}),
]


@pytest.mark.parametrize(
    ("record", "path", "expected"), [c[1:] for c in PATHS], ids=[c[0] for c in PATHS]
)
def test_get_path(record: Any, path: str, expected: object) -> None:
    assert get_path(record, path) == expected


def test_set_path_builds_and_refuses_clashes() -> None:
    target: dict[str, object] = {}
    set_path(target, "a.b.c", 1)
    set_path(target, "a.b.d", 2)
    set_path(target, "e", 3)
    assert target == {"a": {"b": {"c": 1, "d": 2}}, "e": 3}
    with pytest.raises(MappingError):
        set_path(target, "e.f", 4)
    with pytest.raises(MappingError):
        set_path(target, "a.b", 5)


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("empty-external", {"crm": ("a",), "external": ""}),
    ("empty-step", {"crm": ("a",), "external": "a..b"}),
    ("spaced-step", {"crm": ("a",), "external": "a. b"}),
    ("no-crm", {"crm": (), "external": "a"}),
    ("empty-crm-name", {"crm": ("",), "external": "a"}),
    ("bad-direction", {"crm": ("a",), "external": "a", "direction": "both"}),
    ("split-needs-two", {"crm": ("a",), "external": "a", "transform": SplitJoin()}),
    ("two-without-split", {"crm": ("a", "b"), "external": "a"}),
    (
        "constant-two-way-needs-external",
        {"crm": ("a",), "external": "", "transform": Constant("x")},
    ),
    ("not-a-transform", {"crm": ("a",), "external": "a", "transform": "lowercase"}),
]


@pytest.mark.parametrize("kwargs", [c[1] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
def test_bad_field_mapping_is_config_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        FieldMapping(**kwargs)


def test_crm_name_as_plain_string_is_accepted() -> None:
    assert FieldMapping("email", "email").crm == ("email",)  # type: ignore[arg-type]


def test_check_mappings_reports_every_clash() -> None:
    check_mappings(MAPPINGS)
    clashing = (
        FieldMapping(("email",), "email"),
        FieldMapping(("email",), "mail"),
        FieldMapping(("city",), "address"),
        FieldMapping(("zip",), "address.zip"),
        FieldMapping(("x",), "mail", direction=Direction.TO_CRM),  # reading a field twice is fine
        FieldMapping(("y",), "email", direction=Direction.TO_EXTERNAL),
    )
    with pytest.raises(ConfigError) as caught:
        check_mappings(clashing)
    assert len(caught.value.data["problems"]) == 3


def test_registry_builds_every_transform_by_name() -> None:
    assert build_transform("lowercase") == Lowercase()
    assert build_transform("number", {"decimal": ",", "thousands": "."}) == Number(",", ".")
    assert build_transform("date", {"format": "%d.%m.%Y"}) == DateFormat("%d.%m.%Y")
    enum = build_transform("enum", {"values": {"active": "customer"}, "unmapped": "skip"})
    assert enum.to_crm("active") == "customer"
    assert set(TRANSFORMS) >= {
        "e164",
        "datetime",
        "boolean",
        "split",
        "constant",
        "default",
        "trim",
        "uppercase",
        "identity",
    }


BAD_CONFIG: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown-name", "lowercas", {}, "known transforms: .*lowercase"),
    ("unknown-option", "number", {"decimals": ","}, "options: decimal, thousands"),
    ("bad-decimal", "number", {"decimal": ";"}, "decimal"),
    ("same-marks", "number", {"decimal": ",", "thousands": ","}, "differ"),
    ("bad-region", "e164", {"region": "XX"}, "region"),
    ("bad-zone", "datetime", {"timezone": "Mars/Base"}, "timezone"),
    ("bad-format", "date", {"format": 12}, "format"),
    ("format-without-percent", "date", {"format": "dd.mm.yyyy"}, "format"),
    ("enum-no-values", "enum", {}, "values"),
    ("enum-bad-rule", "enum", {"values": {"a": "b"}, "unmapped": "ignore"}, "unmapped"),
    ("enum-default-missing", "enum", {"values": {"a": "b"}, "unmapped": "default"}, "default"),
    ("enum-nested-value", "enum", {"values": {"a": ["b"]}}, "values"),
    ("bool-shared-word", "boolean", {"true": ["yes"], "false": ["YES"]}, "shares"),
    ("bool-empty", "boolean", {"true": []}, "true"),
    ("split-one-part", "split", {"parts": 1}, "parts"),
    ("split-empty-separator", "split", {"separator": ""}, "separator"),
    ("constant-not-text", "constant", {"value": 3}, "value"),
]


@pytest.mark.parametrize(
    ("name", "options", "message"), [c[1:] for c in BAD_CONFIG], ids=[c[0] for c in BAD_CONFIG]
)
def test_bad_transform_config_is_config_error(
    name: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_transform(name, options)


def test_mapping_imports_nothing_impure() -> None:
    # DESIGN: mapping/ is pure; of ours it may import only the leaves syncd.errors and
    # syncd.direction (which import nothing of ours), and no I/O library.
    import ast
    import sys
    from pathlib import Path

    allowed = set(sys.stdlib_module_names) | {"phonenumbers", "mapping", "syncd"}
    for path in Path(__file__).parents[2].joinpath("mapping").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                if name.startswith("syncd"):
                    assert name in _LEAVES, f"{path.name} imports {name}"


_LEAVES = ("syncd.errors", "syncd.direction")


def test_the_leaves_mapping_and_conflict_share_import_nothing_of_ours() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).parents[2]
    for leaf in _LEAVES:
        tree = ast.parse(root.joinpath(*leaf.split(".")).with_suffix(".py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in {"syncd", "mapping", "conflict"}, leaf
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "syncd" for a in node.names), leaf


def test_find_clashes_gives_the_fields_and_the_property_as_data() -> None:
    two, crm, out = Direction.TWO_WAY, Direction.TO_CRM, Direction.TO_EXTERNAL
    writers: list[tuple[tuple[str, ...], str, Direction | None]] = [
        (("firstname", "lastname"), "name", two),
        (("email",), "email", crm),
        (("city", "lastname"), "full", two),  # lastname again, second of its properties
        (("zip",), "email.zip", out),  # inside email, but email is only read
        (("x",), "name.first", out),  # inside name, which is written out
        (("email",), "mail", None),  # flows nowhere: never a clash
    ]
    assert find_clashes(writers) == [
        Clash(index=2, first=0, key="crm", name="lastname", other="lastname", position=1),
        Clash(index=4, first=0, key="external", name="name.first", other="name"),
    ]
