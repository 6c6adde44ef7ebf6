"""The configuration is compiled once: each field's transform is built when the file is
loaded, and the engine's spec runs on those very objects, one direction type throughout."""

from __future__ import annotations

from pathlib import Path

import pytest

import config.models
from config import load_config
from conflict import FieldState, resolve_record
from mapping import (
    E164,
    TRANSFORMS,
    Direction,
    FieldMapping,
    MappingConfigError,
    SplitJoin,
    Transform,
    build_transform,
)
from mapping.base import VALUE_KINDS
from syncd.engine import build_spec
from tests.config._helpers import FIXTURES, problems, sync_yaml

ENV = {"ERP_PASSWORD": "hunter2-secret"}
# The store's property types (store/values.py): what a transform may declare it writes.
PROPERTY_TYPES = {"string", "number", "bool", "date", "datetime", "enumeration"}


def test_transforms_are_built_once_at_load_and_the_spec_runs_on_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    real = build_transform

    def counting(name: str, options: object = None) -> Transform:
        built.append(name)
        return real(name, options)  # type: ignore[arg-type]

    monkeypatch.setattr(config.models, "build_transform", counting)
    loaded = load_config(FIXTURES / "good.yaml", env=ENV)
    # One build per named transform or value map in the file: lowercase, split, e164, enum
    # (customers) and lowercase (firms); identity fields build nothing.
    assert sorted(built) == ["e164", "enum", "lowercase", "lowercase", "split"]
    for sync in loaded.syncs.values():
        spec = build_spec(loaded, sync)
        build_spec(loaded, sync)
        compiled = [field.compiled.transform for field in sync.fields]
        assert [m.transform for m in spec.mappings] == compiled
        assert all(m.transform is c for m, c in zip(spec.mappings, compiled, strict=True)), (
            "the spec must hold the transforms the loader built, not new ones"
        )
    assert len(built) == 5, "building specs built transforms again"


def test_one_direction_type_from_yaml_to_resolver() -> None:
    loaded = load_config(FIXTURES / "good.yaml", env=ENV)
    customers, firms = loaded.syncs["erp-customers"], loaded.syncs["erp-firms"]
    assert customers.direction is Direction.TWO_WAY and firms.direction is Direction.TO_CRM
    stage = customers.fields[3]
    assert stage.direction is Direction.TO_CRM and stage.compiled.direction is Direction.TO_CRM
    spec = build_spec(loaded, customers)
    assert spec.field("lifecyclestage").direction is Direction.TO_CRM
    assert spec.field("email").direction is Direction.TWO_WAY
    # Narrowed to a to_crm sync: the same members, no strings on the way.
    firms_spec = build_spec(loaded, firms)
    assert {f.direction for f in firms_spec.fields} == {Direction.TO_CRM}
    assert all(type(m.direction) is Direction for m in firms_spec.mappings)
    # The YAML spellings are the values, so messages and JSON show them unchanged.
    assert [d.value for d in Direction] == ["two-way", "to_crm", "to_external"]
    state = FieldState("x", "a", "b", "a", direction=spec.field("lifecyclestage").direction)
    assert state.direction is Direction.TO_CRM
    assert resolve_record([state], spec.default_rule).fields[0].field == "x"


def test_a_mapping_error_carries_the_setting_it_is_about() -> None:
    cases: list[tuple[dict[str, object], tuple[str, ...]]] = [
        ({"transform": E164(region="US"), "external": "a..b"}, ("external",)),
        ({"transform": SplitJoin(), "external": "name"}, ("crm",)),
        ({"external": "x", "direction": "sideways"}, ("direction",)),
    ]
    for kwargs, key in cases:
        with pytest.raises(MappingConfigError) as caught:
            FieldMapping(crm=("email",), **kwargs)  # type: ignore[arg-type]
        assert caught.value.key == key, kwargs
    with pytest.raises(MappingConfigError) as caught:
        E164(region="XX")
    assert caught.value.key == ("options", "region")
    with pytest.raises(MappingConfigError) as caught:
        build_transform("e165")
    assert caught.value.key == ("transform",)
    with pytest.raises(MappingConfigError) as caught:
        build_transform("e164", {"regoin": "DE"})
    assert caught.value.key == ("options",)


@pytest.mark.parametrize(
    ("field", "key", "at"),
    [
        ("{crm: p, external: p, transform: e164, options: {region: XX}}", "options.region", "XX"),
        ("{crm: p, external: p, transform: e164, options: {regoin: DE}}", "options", "{regoin"),
        ("{crm: p, external: p, transform: e165}", "transform", "e165"),
        # No default: key in the file, so the field itself is pointed at.
        ("{crm: s, external: p, values: {a: b}, unmapped: default}", "default", "{crm: s"),
        ("{crm: s, external: p, values: {}}", "values", "{}"),
        ("{crm: p, external: 'a..b'}", "external", "'a..b'"),
        ("{crm: [a, b, c], external: p, transform: split}", "crm", "[a, b, c]"),
    ],
)
def test_config_errors_are_located_by_the_key_the_error_carries(
    tmp_path: Path, field: str, key: str, at: str
) -> None:
    text = sync_yaml(
        f"connector: shop\nexternal_object: customers\ncrm_object: contacts\nfields: [{field}]\n"
    )
    found = problems(tmp_path, text)
    assert [p.key for p in found] == [f"syncs.s.fields[0].{key}"], found
    (problem,) = found
    assert problem.line == 12 and problem.column is not None
    assert text.splitlines()[11][problem.column - 1 :].startswith(at), problem


def test_every_transform_declares_what_it_reads_and_writes() -> None:
    for name, cls in TRANSFORMS.items():
        assert cls.reads <= VALUE_KINDS, name
        assert cls.writes is None or (cls.writes and cls.writes <= PROPERTY_TYPES), name
    assert TRANSFORMS["constant"].reads == frozenset()
    assert TRANSFORMS["date"].writes == frozenset({"date"})
    assert TRANSFORMS["identity"].writes is None
