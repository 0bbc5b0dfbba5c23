"""Headless Debian Chromium for the browser tests, driven by selenium with an explicit
chromedriver path (Selenium Manager, which would go online, is never consulted)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
)
MISSING = (
    f"no headless Chromium at {CHROMIUM} or chromedriver at {CHROMEDRIVER}: "
    "apt-get install -y chromium chromium-driver"
)


@contextlib.contextmanager
def chromium(profile: Path, *, window: str = "1280,1000", page_load_s: int = 20) -> Iterator:
    """A Chromium driver with a fresh profile in `profile`, quit and removed afterwards; the
    test skips, saying why, where Chromium, chromedriver or selenium is missing."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(MISSING)
    webdriver = pytest.importorskip("selenium.webdriver", reason="the selenium package is missing")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(page_load_s)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
