"""Property-based fuzzing of every operation in ``/openapi.json`` against a real server.

schemathesis reads the published document, generates requests for each operation (valid
ones, and invalid ones in negative mode) and checks every answer: never a 5xx, only
documented status codes, and a body that matches the schema documented for that status.
That is what "the OpenAPI document is accurate" means to a client generated from it.

Each operation is fuzzed twice: with free path parameters (mostly unknown object types and
ids: the refusal paths) and with them pinned to records, properties, labels and a custom
object seeded beforehand, so generated bodies reach the write paths. Operations that delete
run last so that the others still find what was seeded. Failures are collected rather than
raised at the first one, so one run reports every broken operation.

Bounded for CI: a fixed seed (``derandomize``), a small ``max_examples`` per operation
(raise it with ``SYNCD_API_FUZZ_EXAMPLES`` for a deeper local run), no shrinking.

Drawing the cases is most of the test's CPU (hypothesis building bodies from the schema),
and with a fixed seed both databases draw the same ones. So the first database's run keeps
the cases it drew for each (operation, mode, path parameters) and the other database's run,
in the same process, sends those again instead of drawing them a second time: every request
is still made and checked on both. (The seed comes from ``exercise``'s source: change it and
the cases change.)
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from syncd.api import ApiSettings
from tests.api.conftest import Api

EXAMPLES = int(os.environ.get("SYNCD_API_FUZZ_EXAMPLES", "4"))
# (mode, pinned, examples): where the budget goes. Pinned positive cases reach the writes.
RUNS = (
    (GenerationMode.POSITIVE, True, EXAMPLES * 2),
    (GenerationMode.NEGATIVE, True, EXAMPLES),
    (GenerationMode.POSITIVE, False, max(1, EXAMPLES // 2)),
    (GenerationMode.NEGATIVE, False, max(1, EXAMPLES // 2)),
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


#: The cases drawn in this process, by (operation, mode, path parameters, examples): replayed
#: by the other database's run (see the module's docstring). A run on another worker draws
#: its own, which are the same.
_DRAWN: dict[tuple[str, str, tuple[tuple[str, str], ...], int], list[Any]] = {}


def _keeping(test: Any, cases: list[Any]) -> None:
    """Make hypothesis's test ``test`` note each case it runs in ``cases``.

    The body hypothesis calls is swapped for a wrapper of it: the seed ``derandomize`` takes
    comes from the body's source, which ``functools.wraps`` leads back to, so the cases drawn
    are the ones drawn without the note.
    """
    body = test.hypothesis.inner_test

    @functools.wraps(body)
    def noting(*args: Any, **kwargs: Any) -> None:
        cases.append(kwargs["case"] if "case" in kwargs else args[0])
        body(*args, **kwargs)

    test.hypothesis.inner_test = noting


def _fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same cases on every run: a failure reproduces
        database=None,
        deadline=None,  # a write on a shared CI box may take a while; speed is bench/'s job
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=[
            HealthCheck.too_slow,  # every example is a real HTTP round trip
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=False,
    )


@pytest.fixture
def api_settings() -> ApiSettings:
    # The fuzzer sends thousands of requests: this test is about answers, not the rate limit.
    return ApiSettings(rate_limit_max=1_000_000_000)


@dataclass
class Seeded:
    """Things that exist before fuzzing, by the path parameter names that refer to them."""

    objects: dict[str, str] = field(default_factory=dict)  # /crm/... object paths
    schemas: dict[str, str] = field(default_factory=dict)  # /crm-object-schemas, /crm/v3/schemas


def _created(response: Any, what: str) -> dict[str, Any]:
    assert response.status_code in (200, 201), (
        f"seeding {what}: {response.status_code} {response.text}"
    )
    body: dict[str, Any] = response.json()
    return body


def _seed(api: Api) -> Seeded:
    c = api.client
    contact = _created(
        c.post("/crm/v3/objects/contacts", json={"properties": {"email": "seed@example.com"}}),
        "a contact",
    )
    company = _created(
        c.post(
            "/crm/v3/objects/companies",
            json={"properties": {"name": "Seed", "domain": "seed.example"}},
        ),
        "a company",
    )
    _created(
        c.post("/crm/v3/properties/contacts/groups", json={"name": "fuzz_group", "label": "Fuzz"}),
        "a property group",
    )
    _created(
        c.post(
            "/crm/v3/properties/contacts",
            json={
                "name": "fuzz_prop",
                "label": "Fuzz",
                "type": "string",
                "fieldType": "text",
                "groupName": "fuzz_group",
            },
        ),
        "a property",
    )
    labels = _created(
        c.post(
            "/crm/v4/associations/contacts/companies/labels",
            json={"label": "Fuzz", "name": "fuzz"},
        ),
        "an association label",
    )
    schema = _created(
        c.post(
            "/crm-object-schemas/v3/schemas",
            json={
                "name": "fuzz_things",
                "labels": {"singular": "Fuzz thing", "plural": "Fuzz things"},
                "primaryDisplayProperty": "title",
                "requiredProperties": ["title"],
                "properties": [{"name": "title", "label": "Title", "type": "string"}],
                "associatedObjects": ["CONTACT"],
            },
        ),
        "a custom object schema",
    )
    linked = c.put(
        f"/crm/v4/objects/contacts/{contact['id']}/associations/default/companies/{company['id']}"
    )
    assert linked.status_code in (200, 201), linked.text
    type_id = str(labels["results"][0]["typeId"])
    objects = {
        "objectType": "contacts",
        "fromObjectType": "contacts",
        "toObjectType": "companies",
        "objectId": contact["id"],
        "fromObjectId": contact["id"],
        "contactId": contact["id"],
        "toObjectId": company["id"],
        "propertyName": "fuzz_prop",
        "groupName": "fuzz_group",
        "associationTypeId": type_id,
    }
    schemas = {"objectType": schema["objectTypeId"]}
    return Seeded(objects, schemas)


def _pins(operation: Any, seeded: Seeded) -> dict[str, str]:
    known = seeded.schemas if "schemas" in operation.path else seeded.objects
    names = [p.name for p in operation.path_parameters]
    return {name: known[name] for name in names if name in known}


def _order(operation: Any) -> tuple[int, str, str]:
    """Deletes last, so that every other operation still finds the seeded records."""
    method = operation.method.upper()
    return (method == "DELETE" or operation.path.endswith("/archive"), operation.path, method)


@dataclass
class Findings:
    """The first failure of each (operation, check), with what reproduces it."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: int = 0
    answered: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)

    def add(self, label: str, title: str, text: str) -> None:
        self.seen.setdefault((label, title), text)

    def report(self) -> str:
        return "\n\n".join(
            f"{label}: {title}\n{text}" for (label, title), text in self.seen.items()
        )


def _redact(text: str, token: str) -> str:
    return text.replace(token, "$TOKEN")


def _routed_elsewhere(case: Any) -> bool:
    """A path parameter holding '/' (sent as %2F, decoded by the server) names another path.

    The answer then belongs to whichever route that path matches, so only the server-error
    check applies to it.
    """
    return any("/" in str(value) for value in (case.path_parameters or {}).values())


def _fuzz_one(
    api: Api,
    session: requests.Session,
    operation: Any,
    mode: GenerationMode,
    pins: dict[str, str],
    examples: int,
    findings: Findings,
) -> None:
    auth = {"Authorization": f"Bearer {api.token}"}
    key = (operation.label, mode.value, tuple(sorted(pins.items())), examples)
    drawn = _DRAWN.get(key)
    cases: list[Any] = []
    strategy = (
        operation.as_strategy(generation_mode=mode, path_parameters=pins or None)
        if drawn is None
        else st.nothing()
    )

    @_fuzz_settings(examples)
    @given(case=strategy)
    def exercise(case: Any) -> None:
        response = case.call(base_url=api.url, session=session, headers=auth, timeout=60)
        findings.requests += 1
        findings.answered[operation.label, response.status_code] += 1
        checks = CHECKS[:1] if _routed_elsewhere(case) else CHECKS
        try:
            case.validate_response(response, checks=checks, headers=auth)
        except FailureGroup as group:
            curl = _redact(case.as_curl_command(headers=auth), api.token)
            for failure in group.exceptions:
                findings.add(
                    f"{operation.label} [{mode.value}]",
                    getattr(failure, "title", type(failure).__name__),
                    f"{curl}\n-> {response.status_code} {response.text[:500]}\n{failure}",
                )

    if drawn is not None:
        for case in drawn:
            exercise.hypothesis.inner_test(case)  # type: ignore[attr-defined]  # no draw
        return
    _keeping(exercise, cases)
    try:
        exercise()
    except Unsatisfiable:
        # Negative mode with every parameter pinned and no body: nothing invalid to send.
        if mode is not GenerationMode.NEGATIVE:
            raise
    _DRAWN[key] = cases


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()  # a broken definition raises here, naming it


def test_every_operation_answers_as_documented(api: Api) -> None:
    seeded = _seed(api)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", timeout=30)
    operations = sorted(_operations(schema), key=_order)
    paths = {op.path for op in operations}
    for prefix in ("/crm/v3/objects/", "/crm/v3/properties/", "/crm/v4/", "/crm-object-schemas/"):
        assert any(p.startswith(prefix) for p in paths), f"no {prefix} operation is documented"

    findings = Findings()
    with requests.Session() as session:
        for pinned_pass in (True, False):
            for operation in operations:
                if not pinned_pass and not list(operation.path_parameters):
                    continue  # nothing to free: the pinned pass already covered it
                pins = _pins(operation, seeded) if pinned_pass else {}
                for mode, pinned, examples in RUNS:
                    if pinned == pinned_pass:
                        _fuzz_one(api, session, operation, mode, pins, examples, findings)

    # Guard against a vacuous pass (say every answer a documented 401): most operations must
    # have succeeded at least once.
    succeeded = {label for (label, status) in findings.answered if 200 <= status < 300}
    assert len(succeeded) >= len(operations) // 2, sorted(findings.answered.items())
    assert not findings.seen, (
        f"{len(findings.seen)} failing (operation, check) pairs:\n\n{findings.report()}"
    )
