"""The console as a person uses it, in a real headless chromium, on SQLite and PostgreSQL.

Signs in, resolves a conflict, pauses and resumes a sync, retries an error and follows a
record's trace, each checked in the store; then a signed-out browser, a forged form from
another page (no CSRF token) and a read-scope token try to change things and change nothing.
``SYNCD_CONSOLE_SCREENSHOTS=1`` also saves each page's screenshot under docs/console/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.console._browser import open_browser
from tests.console._world import SYNC, World

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from open_browser()


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _see(driver: Any, text: str) -> None:
    """Wait until the page (after a click, the next one) shows ``text``."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(lambda d: text in d.page_source, f"{text!r} never shown")


def _shot(driver: Any, name: str, db_url: str) -> None:
    if os.environ.get("SYNCD_CONSOLE_SCREENSHOTS") != "1" or not db_url.startswith("sqlite"):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    by = _by()
    height = driver.find_element(by.TAG_NAME, "body").size["height"]
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(height + 20, 600), 2000))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(width, 900)


def _sign_in(driver: Any, url: str, token: str) -> None:
    by = _by()
    driver.get(f"{url}/console/")
    assert "Sign in to the syncd console" in driver.page_source
    field = driver.find_element(by.ID, "token")  # reachable by its label
    label = driver.find_element(by.CSS_SELECTOR, "label[for=token]")
    assert "API token" in label.text
    field.send_keys(token)
    driver.find_element(by.CSS_SELECTOR, "form button[type=submit]").click()
    _see(driver, "<h1>Overview</h1>")


def test_an_operator_works_through_the_console(
    browser: Any, url: str, world: World, db_url: str
) -> None:
    by, store, driver = _by(), world.store, browser
    driver.get(f"{url}/console/")
    _shot(driver, "sign-in", db_url)
    _sign_in(driver, url, world.write_token)
    assert SYNC in driver.page_source and "failing" in driver.page_source
    _shot(driver, "overview", db_url)

    # Resolve the held conflict by taking the external value.
    driver.find_element(by.LINK_TEXT, "Conflicts").click()
    _see(driver, "Shop-Ada")
    _shot(driver, "conflicts", db_url)
    driver.find_element(by.CSS_SELECTOR, "button[name=take][value=external]").click()
    _see(driver, "Conflict resolved")
    assert not store.get_conflict(world.conflict_id).open
    assert store.get_record("contacts", world.ada_id).properties["firstname"] == "Shop-Ada"

    # Pause with a reason, then resume.
    driver.get(f"{url}/console/syncs/{SYNC}")
    _shot(driver, "sync", db_url)
    driver.find_element(by.ID, "pause-reason").send_keys("shop migration")
    driver.find_element(by.XPATH, "//button[text()='Pause']").click()
    _see(driver, "Paused.")
    state = store.sync_state(SYNC)
    assert state.paused and "shop migration" in (state.paused_reason or "")
    driver.find_element(by.XPATH, "//button[text()='Resume']").click()
    _see(driver, "Resumed.")
    assert not store.sync_state(SYNC).paused

    # Retry one parked record.
    driver.find_element(by.LINK_TEXT, "Errors").click()
    _see(driver, "Errors: records the syncs gave up on")
    _shot(driver, "errors", db_url)
    driver.find_element(by.CSS_SELECTOR, f"button[aria-label='Retry crm {world.bob_id}']").click()
    _see(driver, "Made due again")
    assert store.outbox(SYNC, parked=True) == []

    # Follow a record's trace: from the log to the record, then one property's story.
    driver.get(f"{url}/console/syncs/{SYNC}?record={world.ada_id}")
    driver.find_element(by.LINK_TEXT, f"contacts {world.ada_id}").click()
    _see(driver, f"<h1>Contact {world.ada_id}")
    driver.find_element(by.LINK_TEXT, "firstname").click()
    _see(driver, "Trace of firstname")
    page = driver.page_source
    assert "conflict resolved" in page and "console:console-writer" in page
    assert "&lt;script&gt;" in page  # the outside value is shown, as text
    _shot(driver, "record", db_url)

    # Keyboard: the skip link is the first stop and leads to the main content.
    driver.get(f"{url}/console/")
    from selenium.webdriver.common.keys import Keys

    driver.find_element(by.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "Skip to content"


def test_the_console_fits_a_phone(url: str, world: World, db_url: str) -> None:
    for driver in open_browser(390, 844):
        _sign_in(driver, url, world.write_token)
        for path, name in (("/console/", "overview-390"), ("/console/conflicts", "conflicts-390")):
            driver.get(f"{url}{path}")
            body_width = driver.execute_script("return document.documentElement.scrollWidth")
            assert body_width <= 390, f"{path} is {body_width}px wide at 390"
            _shot(driver, name, db_url)


class _Attacker(BaseHTTPRequestHandler):
    """Another page (a different port: same site, other origin) with a form aimed at the
    console: no CSRF token, as a forger has none."""

    target = ""

    def do_GET(self) -> None:
        body = (
            f'<form method="post" action="{self.target}/console/syncs/{SYNC}/pause">'
            '<input name="reason" value="forged"><button id="go">win a prize</button></form>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def attacker(url: str) -> Iterator[str]:
    handler = type("Attacker", (_Attacker,), {"target": url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _unchanged(world: World) -> None:
    assert not world.store.sync_state(SYNC).paused
    assert world.store.get_conflict(world.conflict_id).open
    assert len(world.store.outbox(SYNC, parked=True)) == 1


def test_signed_out_forged_and_read_only_change_nothing(
    browser: Any, url: str, world: World, attacker: str
) -> None:
    by, driver = _by(), browser
    # Signed out: every page is the sign-in page.
    for path in ("/console/", f"/console/syncs/{SYNC}", "/console/conflicts", "/console/errors"):
        driver.get(f"{url}{path}")
        assert "Sign in to the syncd console" in driver.page_source
        assert "Shop-Ada" not in driver.page_source and "Pause" not in driver.page_source

    # Signed in with a write token, a forged form on another page is refused.
    _sign_in(driver, url, world.write_token)
    driver.get(attacker)
    driver.find_element(by.ID, "go").click()
    _see(driver, "Form refused")
    assert "CSRF" in driver.page_source
    _unchanged(world)

    # A read-scope token sees, has nothing to press, and a form it builds is refused.
    driver.delete_all_cookies()
    _sign_in(driver, url, world.read_token)
    driver.get(f"{url}/console/conflicts")
    assert "Shop-Ada" in driver.page_source and "Keep the CRM value" not in driver.page_source
    driver.get(f"{url}/console/syncs/{SYNC}")
    assert "read-only" in driver.page_source
    csrf = driver.find_element(by.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    driver.execute_script(
        "const f = document.createElement('form'); f.method = 'post';"
        f" f.action = '/console/syncs/{SYNC}/pause';"
        " const c = document.createElement('input'); c.name = 'csrf'; c.value = arguments[0];"
        " f.appendChild(c); document.body.appendChild(f); f.submit();",
        csrf,
    )
    _see(driver, "read scope only")
    _unchanged(world)
