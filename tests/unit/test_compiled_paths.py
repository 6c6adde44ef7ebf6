"""Randomized equivalence of the engine's compiled per-record paths with the general ones.

The inbound path reads, plans and decides every record of a page through code worked out
once per sync (``mapping.CrmReader``, ``diff.plan_record``'s agreed-field shortcut and its
``handed_over`` form, ``conflict.agreed_field``). Each test here draws mappings, records
and three sides at random and asserts the fast path gives exactly what the general one
gives: the same values in the same order, the same decisions, the same errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conflict import NO_BASE, Direction, FieldState, Rule, resolve_field, resolve_record
from mapping import (
    Boolean,
    Constant,
    CrmReader,
    Default,
    EnumMap,
    FieldMapping,
    Identity,
    Lowercase,
    MappingError,
    Number,
    SplitJoin,
    Trim,
    map_to_crm,
)
from syncd.engine.diff import _decide, plan_record
from syncd.engine.spec import FieldSpec, SyncSpec

NAMES = ["a", "b", "c", "d", "e", "f"]
PATHS = ["a", "b", "c", "n.x", "n.y", "d"]
SCALARS = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.sampled_from(["Ada@X.io", " x ", "", "yes", "no", "1,5", "red"]),
    st.integers(-5, 5),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.lists(st.integers(), max_size=1),
    st.just("y" * 65_537),  # longer than a property holds
)
TRANSFORMS = st.sampled_from(
    [
        Identity(),
        Identity(),
        Lowercase(),
        Trim(),
        Number(),
        Boolean(),
        Default("dflt"),
        Constant("k"),
        EnumMap({"red": "R"}),
        EnumMap({"red": "R"}, unmapped="skip"),
    ]
)
DIRECTIONS = st.sampled_from(list(Direction))


@st.composite
def mappings(draw: st.DrawFn) -> list[FieldMapping]:
    out: list[FieldMapping] = []
    names = iter(NAMES)
    for path in draw(st.lists(st.sampled_from(PATHS), unique=True, max_size=5)):
        if draw(st.booleans()) and draw(st.booleans()):
            first, second = next(names, None), next(names, None)
            if first is None or second is None:
                break
            out.append(FieldMapping((first, second), path, draw(DIRECTIONS), SplitJoin()))
            continue
        name = next(names, None)
        if name is None:
            break
        out.append(FieldMapping((name,), path, draw(DIRECTIONS), draw(TRANSFORMS)))
    return out


@st.composite
def records(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from([None, "text", ["a"]]))
    record: dict[str, object] = {}
    for path in PATHS:
        if draw(st.booleans()):
            if "." in path:
                outer, inner = path.split(".")
                nested: object = draw(st.one_of(st.none(), st.just("flat"), st.just({})))
                if isinstance(nested, dict):
                    record.setdefault(outer, {})
                    target = record[outer]
                    if isinstance(target, dict):
                        target[inner] = draw(SCALARS)
                else:
                    record.setdefault(outer, nested)
            else:
                record[path] = draw(SCALARS)
    return record


def _outcome(call: Any) -> tuple[str, object]:
    try:
        result = call()
    except MappingError as exc:
        return ("error", (exc.reason, exc.field, exc.transform, repr(exc.value)))
    return ("ok", list(result.items()))


@settings(max_examples=400)
@given(mappings(), records())
def test_compiled_reader_equals_map_to_crm(maps: list[FieldMapping], record: Any) -> None:
    reader = CrmReader(maps)
    assert _outcome(lambda: reader(record)) == _outcome(lambda: map_to_crm(maps, record))


SIMPLE = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(
            [Identity(), Identity(), Lowercase(), Trim(), EnumMap({"red": "R"}, unmapped="skip")]
        ),
        DIRECTIONS,
    ),
    max_size=4,
)
TEXTS = st.one_of(st.text(max_size=3), st.none(), st.sampled_from(["red", " A ", "y" * 65_537]))


@settings(max_examples=400)
@given(SIMPLE, st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), TEXTS))
def test_compiled_reader_of_top_level_fields_equals_map_to_crm(
    steps: list[tuple[str, Any, Direction]], record: dict[str, object]
) -> None:
    """Every mapping a top-level field (each a step of its own), records of text."""
    maps = [FieldMapping((NAMES[i],), path, d, t) for i, (path, t, d) in enumerate(steps)]
    reader = CrmReader(maps)
    assert _outcome(lambda: reader(record)) == _outcome(lambda: map_to_crm(maps, record))


# -- planning -------------------------------------------------------------------------------

VALUES = st.one_of(st.none(), st.sampled_from(["x", "y", "z", ""]))
RULES = st.sampled_from([None, *Rule])
MOMENT = datetime(2026, 1, 1, tzinfo=UTC)
TIMES = st.one_of(
    st.none(),
    st.integers(-3, 3).map(lambda h: MOMENT + timedelta(hours=h)),
    st.just(datetime(2026, 1, 1)),  # noqa: DTZ001 - naive on purpose: the resolver refuses it
)


@st.composite
def sides(draw: st.DrawFn) -> tuple[SyncSpec, dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    fields = tuple(FieldSpec(n, draw(DIRECTIONS), draw(RULES)) for n in names)
    spec = SyncSpec(
        name="s",
        connector="c",
        external_object="o",
        crm_object="contacts",
        mappings=tuple(FieldMapping((n,), n) for n in names),
        fields=fields,
        default_rule=draw(st.sampled_from(list(Rule))),
    )
    base = {n: draw(VALUES) for n in names if draw(st.booleans())}
    crm = {n: draw(VALUES) for n in names if draw(st.integers(0, 4))}
    # Often the same as the CRM, so the agreed shortcuts are taken.
    external = (
        dict(crm)
        if draw(st.booleans())
        else {n: draw(VALUES) for n in names if draw(st.booleans())}
    )
    if draw(st.integers(0, 5)) == 0:
        external["zz"] = draw(VALUES)  # a value no field carries: no opinion on anything
    crm_at = {n: t for n in names if (t := draw(TIMES)) is not None}
    return spec, {
        "base": base,
        "crm": crm,
        "external": external,
        "crm_changed_at": crm_at,
        "external_changed_at": draw(TIMES),
    }


def _general(spec: SyncSpec, kw: dict[str, Any]) -> Any:
    """The resolver asked field by field through FieldStates, as before any shortcut."""
    base, crm, external = kw["base"], kw["crm"], kw["external"]
    states = []
    for f in spec.fields:
        had = base.get(f.name, NO_BASE)
        value = crm.get(f.name)
        ext = external.get(f.name, had if had is not NO_BASE else value)
        states.append(
            FieldState(
                f.name,
                had,
                value,
                ext,
                direction=f.direction,
                rule=f.rule,
                crm_changed_at=kw["crm_changed_at"].get(f.name),
                external_changed_at=kw["external_changed_at"],
            )
        )
    return resolve_record(states, spec.default_rule)


def _try(call: Any) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


@settings(max_examples=400)
@given(sides())
def test_decide_equals_the_resolver_field_by_field(case: tuple[SyncSpec, dict[str, Any]]) -> None:
    spec, kw = case
    fast = _try(
        lambda: _decide(
            spec,
            kw["base"],
            kw["crm"],
            kw["external"],
            kw["crm_changed_at"],
            kw["external_changed_at"],
        )
    )
    assert fast == _try(lambda: _general(spec, kw))


@settings(max_examples=400)
@given(sides(), st.booleans())
def test_plan_record_equals_the_full_decision(
    case: tuple[SyncSpec, dict[str, Any]], handed_over: bool
) -> None:
    spec, kw = case
    if handed_over:  # as a create hands it over: no base, no CRM change times
        kw = {**kw, "base": {}, "crm_changed_at": {}}
    general = _try(lambda: _general(spec, kw))
    planned = _try(lambda: plan_record(spec, **kw, handed_over=handed_over))
    if general[0] == "error":
        assert planned == general
        return
    plan = planned[1]
    decision = general[1]
    writes = decision.crm_writes()
    assert plan.crm_writes == writes
    # The CRM's values before the writes, as the inbound log reads them.
    assert {d.field: d.crm_value for d in plan.differing if d.field in writes} == {
        d.field: d.crm_value for d in decision.fields if d.field in writes
    }
    assert plan.external_writes == decision.external_writes()
    assert plan.conflicts() == decision.conflicts()
    assert plan.decision == decision  # read last: the lazy decision is built on demand
    assert plan.base == {
        d.field: (d.base if d.action.value == "to_external" else d.next_base)
        for d in decision.fields
        if (d.base if d.action.value == "to_external" else d.next_base) is not NO_BASE
    }


@given(st.sampled_from(NAMES), st.one_of(st.just(NO_BASE), VALUES), VALUES, RULES, DIRECTIONS)
def test_agreed_field_is_what_the_resolver_decides(
    name: str, base: Any, value: str | None, rule: Rule | None, direction: Direction
) -> None:
    from conflict import agreed_field

    state = FieldState(name, base, value, value, direction=direction, rule=rule)
    assert agreed_field(name, base, value, value) == resolve_field(state, Rule.CRM_WINS)
