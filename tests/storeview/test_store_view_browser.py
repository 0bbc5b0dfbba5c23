"""The Data Docs link of a check opens in a real browser: one `fleet_logs` run on the embedded
store commits GX Data Docs, the check's `data_docs` URL is read back from the instance, the
store view serves the store as `fleetloop store-view` in a subprocess, and headless Chromium
(Debian's, through Selenium and its `chromedriver`) shows the GX page, and its relative links
open.

Skipped, saying why, when Chromium, its driver or the `selenium` package is missing.
"""

from __future__ import annotations

import os

import pytest

from resources.store_resource import LocalStoreResource
from tests.browser import CHROMEDRIVER, CHROMIUM, chromium
from tests.storeview import serving
from tests.storeview.checked import one_checked_drive

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no headless Chromium at {CHROMIUM}"),
    pytest.mark.skipif(not CHROMEDRIVER.exists(), reason=f"no chromedriver at {CHROMEDRIVER}"),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="the selenium package is missing")


@pytest.fixture
def store_view(tmp_path):
    """`fleetloop store-view` over `$FLEETLOOP_HOME/store` on a free port; its base URL."""
    env = {**os.environ, "FLEETLOOP_HOME": str(tmp_path)}
    with serving.store_view(env, tmp_path / "store_view.log") as base:
        yield base


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium") as driver:
        yield driver


def test_data_docs_link_opens_the_gx_page(tmp_path, monkeypatch, store_view, browser):
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("FLEETLOOP_STORE_VIEW_URL", store_view)
    resource = LocalStoreResource(root=str(tmp_path / "store"))
    _, metadata = one_checked_drive(resource)
    url = metadata["data_docs"].value
    assert url.startswith(f"{store_view}/drive-data/") and url.endswith(".html")
    assert metadata["data_docs_uri"].value.startswith("lakefs://drive-data/")

    browser.get(url)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Validation" in body or "drive_log" in body, body[:500]
    # GX takes its css and js from CDNs (the index's tables are filled by that js); the site's
    # own relative links, to its index and the suite's expectations, resolve and open.
    index = browser.find_element(By.CSS_SELECTOR, 'a[href$="index.html"]').get_attribute("href")
    suite = browser.find_element(By.CSS_SELECTOR, 'a[href*="expectations/"]').get_attribute("href")
    assert index.startswith(store_view) and suite.startswith(store_view), (index, suite)
    browser.get(suite)
    assert "drive_log" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(index)
    assert "Validation Results" in browser.find_element(By.TAG_NAME, "body").text
