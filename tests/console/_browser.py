"""A real headless browser for the console's tests: Debian's ``chromium`` driven by
``chromium-driver`` through selenium.

Without them the browser tests skip, saying what to install; under ``.ci/run``
(``SYNCD_TEST_REQUIRE_BROWSER=1``, which also installs the packages) a missing browser is a
failure, so CI can never pass without having run them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE_ENV = "SYNCD_TEST_REQUIRE_BROWSER"
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_DRIVERS = ("chromedriver",)


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(
        f"{reason}: install Debian's chromium and chromium-driver "
        "(`apt-get install chromium chromium-driver`; .ci/run does) and selenium (the dev extra)"
    )


def _found(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


def open_browser(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless chromium session at ``width`` x ``height`` CSS pixels; quit at the end."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
        raise  # unreachable: _missing raises
    browser, driver = _found(_BROWSERS), _found(_DRIVERS)
    if browser is None or driver is None:
        _missing("no chromium" if browser is None else "no chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(executable_path=str(driver)), options=options)
    session.set_page_load_timeout(30)
    session.implicitly_wait(10)  # a click's page load may still be under way
    if width < 500:  # below chromium's smallest window: emulate the phone's viewport
        session.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
    try:
        yield session
    finally:
        session.quit()
