"""``syncd activities log|associate`` and ``syncd timeline``, end to end on both databases.

Exit codes as everywhere in the CLI: 0 done, 1 refused (one ``error:`` line), 2 bad usage
(unknown type, unparseable time, bad ``OBJECT:ID``, a limit out of range).
"""

from __future__ import annotations

import pytest

from syncd.cli import app
from tests.integration.test_cli import as_json, create, ok, refused, run, runner, usage_error

AT = "2024-05-01T09:30:00Z"


def log(db_url: str, args: str) -> int:
    return int(as_json(run(db_url, f"--json activities log {args}"))["id"])


LOGGED = [
    ("note", "--type note --body hello", "notes", "hs_note_body", "hello"),
    ("calls-plural", "--type calls --title Intro --body notes", "calls", "hs_call_title", "Intro"),
    ("email", "--type Email --subject Hi", "emails", "hs_email_subject", "Hi"),
    ("meeting", "--type meeting --title Kickoff", "meetings", "hs_meeting_title", "Kickoff"),
    ("task", "--type task --subject 'Call back'", "tasks", "hs_task_status", "NOT_STARTED"),
    (
        "extra-set",
        "--type call --set hs_call_direction=OUTBOUND",
        "calls",
        "hs_call_direction",
        "OUTBOUND",
    ),
]


@pytest.mark.parametrize(
    ("args", "object_name", "prop", "value"), [x[1:] for x in LOGGED], ids=[x[0] for x in LOGGED]
)
def test_log_each_type(db_url: str, args: str, object_name: str, prop: str, value: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    out = as_json(run(db_url, f"--json activities log contacts {ann} {args} --at {AT}"))
    assert out["object"] == object_name
    assert out["properties"][prop] == value
    assert out["properties"]["hs_timestamp"] == "2024-05-01T09:30:00.000Z"
    assert out["associations"] == [{"object": "contacts", "id": ann}]
    got = as_json(run(db_url, f"--json records get contacts {ann}"))
    assert got["properties"]["notes_last_updated"] == "2024-05-01T09:30:00.000Z"


def test_log_prints_the_id_and_where_it_landed(db_url: str) -> None:
    acme = create(db_url, "companies", name="Acme", domain="acme.example")
    ann = create(db_url, "contacts", email="ann@example.com")
    big = create(db_url, "deals", dealname="Big", dealstage="appointmentscheduled")
    ok(run(db_url, f"associations create contacts {ann} companies {acme} --label Primary"))
    out = ok(run(db_url, f"activities log contacts {ann} -t call --associate deals:{big}"))
    assert out.startswith("logged call ")
    assert f"contacts:{ann}" in out and f"companies:{acme}" in out and f"deals:{big}" in out


def test_associate_an_existing_activity(db_url: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    bob = create(db_url, "contacts", email="bob@example.com")
    call = log(db_url, f"contacts {ann} --type call --at {AT}")
    out = as_json(run(db_url, f"--json activities associate calls {call} contacts:{bob}"))
    assert {(a["object"], a["id"]) for a in out["associations"]} == {
        ("contacts", ann),
        ("contacts", bob),
    }
    got = as_json(run(db_url, f"--json records get contacts {bob}"))
    assert got["properties"]["notes_last_contacted"] == "2024-05-01T09:30:00.000Z"
    text = ok(run(db_url, f"activities associate call {call} contacts:{bob}"))
    assert text.startswith(f"call {call} is on ")


USAGE = [
    (
        "unknown-type",
        "activities log contacts {ann} --type fax",
        "note, call, email, meeting, task",
    ),
    ("no-type", "activities log contacts {ann}", "--type"),
    ("bad-time", "activities log contacts {ann} --type note --at yesterday", "ISO 8601"),
    ("no-colon", "activities log contacts {ann} --type note --associate deals7", "OBJECT:ID"),
    ("no-id", "activities log contacts {ann} --type note --associate deals:", "OBJECT:ID"),
    ("no-object", "activities log contacts {ann} --type note --associate :7", "OBJECT:ID"),
    ("negative-id", "activities log contacts {ann} --type note --associate deals:-7", "OBJECT:ID"),
    ("huge-id", "activities log contacts {ann} --type note -a deals:99999999999999999999", "range"),
    ("bad-set", "activities log contacts {ann} --type note --set nothing", "PROPERTY=VALUE"),
    ("associate-bad-type", "activities associate faxes 1 contacts:{ann}", "note, call"),
    ("associate-bad-target", "activities associate notes 1 contacts-{ann}", "OBJECT:ID"),
    ("associate-no-target", "activities associate notes 1", "OBJECT:ID"),
    ("timeline-bad-type", "timeline contacts {ann} --type fax", "note, call"),
    ("timeline-huge-limit", "timeline contacts {ann} --limit 1000000000", "--limit"),
    ("timeline-zero-limit", "timeline contacts {ann} --limit 0", "--limit"),
    ("timeline-bad-since", "timeline contacts {ann} --since 2024-13-45", "ISO 8601"),
]


@pytest.mark.parametrize(("command", "message"), [u[1:] for u in USAGE], ids=[u[0] for u in USAGE])
def test_usage_errors_exit_2(db_url: str, command: str, message: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    assert message in usage_error(run(db_url, command.format(ann=ann)))
    assert as_json(run(db_url, "--json records list notes"))["results"] == []


REFUSED = [
    ("naive-at", "activities log contacts {ann} --type note --at 2024-05-01T09:30", "no time zone"),
    ("unknown-record", "activities log contacts 999999 --type note", "no contacts record 999999"),
    (
        "unknown-associate",
        "activities log contacts {ann} -t note -a deals:424242",
        "no deals record",
    ),
    ("unknown-object", "activities log spaceships 1 --type note", "spaceships"),
    ("subject-on-note", "activities log contacts {ann} --type note --subject Hi", "no subject"),
    ("unknown-activity", "activities associate notes 999999 contacts:{ann}", "no notes record"),
    ("naive-since", "timeline contacts {ann} --since 2024-05-01", "time zone"),
    ("bad-cursor", "timeline contacts {ann} --after 'x; DROP TABLE records'", "cursor"),
    ("timeline-unknown-record", "timeline contacts 999999", "no contacts record 999999"),
]


@pytest.mark.parametrize(
    ("command", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refusals_exit_1(db_url: str, command: str, message: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    assert message in refused(run(db_url, command.format(ann=ann)))
    assert as_json(run(db_url, "--json records list notes"))["results"] == []


def test_an_archived_target_is_refused(db_url: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    ok(run(db_url, f"records archive contacts {ann}"))
    line = refused(run(db_url, f"activities log contacts {ann} --type call"))
    assert line == f"error: no contacts record {ann}"


def test_a_nul_or_oversized_body_is_refused(db_url: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    for body, message in [("a\x00b", "NUL"), ("x" * 65_537, "longer than 65536")]:
        result = runner.invoke(
            app,
            [
                "--db",
                db_url,
                "activities",
                "log",
                "contacts",
                str(ann),
                "-t",
                "note",
                "--body",
                body,
            ],
        )
        assert message in refused(result)


def test_timeline_table_and_json(db_url: str) -> None:
    acme = create(db_url, "companies", name="Acme", domain="acme.example")
    ann = create(db_url, "contacts", email="ann@example.com")
    ok(run(db_url, f"associations create contacts {ann} companies {acme} --label Primary"))
    note = log(
        db_url, f"contacts {ann} --type note --body '[red]Hi[/red]' --at 2024-05-01T09:30:00Z"
    )
    call = log(db_url, f"contacts {ann} --type call --title Intro --at 2024-05-02T09:30:00+02:00")
    task = log(db_url, f"companies {acme} --type task --subject Renew --at 2024-06-01T00:00:00Z")

    table = ok(run(db_url, f"timeline companies {acme}"))
    assert table.index("Renew") < table.index("Intro") < table.index("[red]Hi[/red]")
    assert f"contacts:{ann}" in table and "2024-05-02 07:30:00" in table

    out = as_json(run(db_url, f"--json timeline contacts {ann} --type notes,call --limit 1"))
    assert [(r["type"], r["id"]) for r in out["results"]] == [("call", call)]
    assert out["results"][0]["alsoOn"] == [{"object": "companies", "id": acme}]
    cursor = out["paging"]["next"]["after"]
    rest = as_json(run(db_url, f"--json timeline contacts {ann} -t note -t call --after {cursor}"))
    assert [r["id"] for r in rest["results"]] == [note]
    assert rest["paging"] is None

    ranged = as_json(
        run(
            db_url,
            f"--json timeline companies {acme} --since 2024-05-02T00:00:00Z --until 2024-05-31T00:00:00Z",
        )
    )
    assert [r["id"] for r in ranged["results"]] == [call]
    assert task not in [r["id"] for r in ranged["results"]]


def test_timeline_tells_where_the_next_page_starts(db_url: str) -> None:
    ann = create(db_url, "contacts", email="ann@example.com")
    for n in range(1, 4):
        log(db_url, f"contacts {ann} --type note --body n{n} --at 2024-05-0{n}T00:00:00Z")
    result = run(db_url, f"timeline contacts {ann} --limit 2")
    ok(result)
    assert result.stderr.startswith("more: --after 2024-05-02T00:00:00.000Z~")
    empty = ok(run(db_url, f"timeline contacts {ann} --type email"))
    assert "none" in empty
