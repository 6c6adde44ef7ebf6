"""The console refuses what it must: signed out it shows only the sign-in page, a form
without its CSRF token or from a read-scope token changes nothing, hostile form bodies are
refused with a clear answer, and the configuration can turn it off."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from config.models import ApiConfig, ConsoleConfig
from tests.console._world import SYNC, World, csrf_of, serve_world, sign_in

GETS = (
    "/console",
    "/console/",
    f"/console/syncs/{SYNC}",
    "/console/conflicts",
    "/console/errors",
    "/console/records/contacts/1",
    "/console/records?object=contacts&id=1",
    "/console/nowhere",
)


def _posts(world: World) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/console/syncs/{SYNC}/pause", {"reason": "x"}),
        (f"/console/syncs/{SYNC}/run", {}),
        (f"/console/conflicts/{world.conflict_id}/resolve", {"take": "external"}),
        ("/console/errors/retry", {"sync": SYNC, "crm_id": str(world.bob_id)}),
    ]


def _unchanged(world: World) -> None:
    store = world.store
    assert not store.sync_state(SYNC).paused
    assert store.get_conflict(world.conflict_id).open
    assert len(store.outbox(SYNC, parked=True)) == 1
    assert len(store.list_sync_runs(SYNC)) == 2


def test_signed_out_every_path_shows_only_the_sign_in_page(url: str, world: World) -> None:
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client:
        pages = [client.get(path) for path in GETS]
        posts = [client.post(path, data=data) for path, data in _posts(world)]
    for page in [*pages, *posts]:
        assert page.status_code == 401, page.url
        assert "Sign in to the syncd console" in page.text
        assert SYNC not in page.text and "ada@x.io" not in page.text
    _unchanged(world)


def test_a_bad_or_stale_session_is_signed_out(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        good = client.cookies["syncd_console"]
        value, signature = good.split(".")
        for forged in (
            f"{value}.{'0' * len(signature)}",
            f"{value[:-2]}AA.{signature}",
            "x" * 5000,
            "not-a-cookie",
            ".",
        ):
            client.cookies.set("syncd_console", forged, path="/console")
            assert client.get("/console/").status_code == 401
        client.cookies.set("syncd_console", good, path="/console")
        assert client.get("/console/").status_code == 200
        world.store.revoke_api_token("console-writer")
        assert client.get("/console/").status_code == 401  # revoking ends the session


def test_sign_in_refuses_bad_tokens_and_forged_forms(url: str, world: World) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        form = client.get("/console/sign-in")
        assert form.status_code == 200
        csrf = csrf_of(form.text)
        wrong = client.post("/console/sign-in", data={"csrf": csrf, "token": "syncd_nope"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        assert "syncd_console" not in client.cookies
    with httpx.Client(base_url=url, timeout=30) as stranger:  # no sign-in cookie: forged
        forged = stranger.post(
            "/console/sign-in", data={"csrf": "guess", "token": world.write_token}
        )
        assert forged.status_code == 403 and "syncd_console" not in stranger.cookies


def test_the_session_cookie_is_httponly_and_strict(url: str, world: World) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in", data={"csrf": csrf_of(form.text), "token": world.read_token}
        )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "syncd_console=" in v
    )
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/console" in lowered
    assert world.read_token not in cookie


def test_forms_without_the_csrf_token_change_nothing(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        answers = [client.post(path, data=data) for path, data in _posts(world)]
        wrong = [client.post(path, data={**data, "csrf": "0" * 40}) for path, data in _posts(world)]
    for answer in [*answers, *wrong]:
        assert answer.status_code == 403 and "CSRF" in answer.text
    _unchanged(world)


def test_a_read_scope_token_sees_but_cannot_act(url: str, world: World) -> None:
    with sign_in(url, world.read_token) as client:
        pages = {path: client.get(path) for path in GETS[1:5]}
        csrf = csrf_of(pages["/console/"].text)
        answers = [client.post(path, data={**data, "csrf": csrf}) for path, data in _posts(world)]
    assert all(p.status_code == 200 for p in pages.values())
    assert "Keep the CRM value" not in pages["/console/conflicts"].text
    assert "Retry all" not in pages["/console/errors"].text
    assert "read-only" in pages[f"/console/syncs/{SYNC}"].text
    for answer in answers:
        assert answer.status_code == 403 and "read scope only" in answer.text
    headers = {"Authorization": f"Bearer {world.read_token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as script:
        assert script.post(f"/console/syncs/{SYNC}/pause", data={}).status_code == 403
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": "Bearer junk"}) as bad:
        assert bad.get("/console/").status_code == 401
    _unchanged(world)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"csrf=x&reason=" + b"a" * 300_000, "application/x-www-form-urlencoded", 413, "larger"),
        (b"reason=%ff%fe", "application/x-www-form-urlencoded", 400, "could not be read"),
        (b"a&&==&", "application/x-www-form-urlencoded", 400, "could not be read"),
        (b"reason=a%00b", "application/x-www-form-urlencoded", 400, "NUL"),
        (b"reason=a&reason=b", "application/x-www-form-urlencoded", 400, "given twice"),
        (
            b"&".join(b"f%d=1" % i for i in range(50)),
            "application/x-www-form-urlencoded",
            400,
            "could not be read",
        ),
        (b"reason=" + b"a" * 70_000, "application/x-www-form-urlencoded", 400, "longer than"),
        (b'{"reason": "x"}', "application/json", 415, "urlencoded"),
        (b"--b\r\n", "multipart/form-data; boundary=b", 415, "urlencoded"),
    ],
)
def test_broken_and_oversized_forms_are_refused(
    url: str, world: World, body: bytes, content_type: str, status: int, words: str
) -> None:
    with sign_in(url, world.write_token) as client:
        answer = client.post(
            f"/console/syncs/{SYNC}/pause", content=body, headers={"Content-Type": content_type}
        )
    assert answer.status_code == status, answer.text
    assert words in answer.text
    _unchanged(world)


def test_a_resolve_with_a_bad_side_changes_nothing(url: str, world: World) -> None:
    with sign_in(url, world.write_token) as client:
        csrf = csrf_of(client.get("/console/").text)
        answer = client.post(
            f"/console/conflicts/{world.conflict_id}/resolve", data={"csrf": csrf, "take": "both"}
        )
        empty = client.post(f"/console/conflicts/{world.conflict_id}/resolve", data={"csrf": csrf})
    assert answer.status_code == 400 and "crm or external" in answer.text
    assert empty.status_code == 400
    _unchanged(world)


@pytest.fixture(params=["console off", "api off"])
def switched_off(request: pytest.FixtureRequest, world: World) -> Iterator[str]:
    if request.param == "console off":
        config = world.config.model_copy(update={"console": ConsoleConfig(enabled=False)})
    else:
        config = world.config.model_copy(update={"api": ApiConfig(enabled=False)})
    yield from serve_world(world, config)


def test_the_configuration_turns_it_off(switched_off: str, world: World) -> None:
    with httpx.Client(base_url=switched_off, timeout=30) as client:
        answers = [client.get(p) for p in ("/console", "/console/", "/console/sign-in")]
        health = client.get("/healthz")
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert health.status_code == 200
