"""The review page in a real browser: Debian's headless Chromium, driven through Selenium and the
matching `chromedriver` (both from apt; no browser download). The app runs in a uvicorn server
on a free port of 127.0.0.1 in a thread of this process, so the test reads the same catalog.

Skipped, saying why, when Chromium, its driver or the `selenium` package is missing; CI installs
them with `apt-get install -y chromium chromium-driver`.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from entrypoints.review import create_app
from tests.browser import CHROMEDRIVER, CHROMIUM, chromium
from tests.review.conftest import REPO, REVIEWER, SLICE_NAME, VERSION

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no headless Chromium at {CHROMIUM}: apt-get install -y chromium chromium-driver",
    ),
    pytest.mark.skipif(
        not CHROMEDRIVER.exists(),
        reason=f"no chromedriver at {CHROMEDRIVER}: apt-get install -y chromium-driver",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="the selenium package is missing")


@pytest.fixture
def server(store, catalog):
    """The review app on a free port, served until the test ends; yields its base URL."""
    yield from _serve(create_app(store, catalog, repo=REPO, reviewer=REVIEWER))


@pytest.fixture
def token_server(store, catalog):
    """The app as served beyond loopback (with an access token): its base URL and token."""
    app = create_app(store, catalog, repo=REPO, reviewer=REVIEWER, token=TOKEN)
    for url in _serve(app):
        yield url, TOKEN


TOKEN = "browser-test-token-0123456789abcdef"


def _serve(app):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium", window="1280,1000") as driver:
        yield driver


def test_flag_a_frame_in_chromium(server, browser, catalog, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from resources.storage import read_table

    ranked = read_table(store, REPO, "main", f"slices/{SLICE_NAME}.parquet").sort("rank")
    frame_id = ranked["frame_id"][1]
    browser.get(f"{server}/slices/{SLICE_NAME}?min_conf=0.1")
    selector = f'li.card[data-frame-id="{frame_id}"]'
    card = browser.find_element(By.CSS_SELECTOR, selector)
    assert "flagged" not in card.get_attribute("class").split()

    # The frame's PNG decoded in the browser, and the model's boxes drawn over it.
    image = card.find_element(By.TAG_NAME, "img")
    WebDriverWait(browser, 10).until(lambda _: image.get_attribute("complete") == "true")
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 64
    assert len(card.find_elements(By.CSS_SELECTOR, "svg.overlay rect")) >= 1

    card.find_element(By.NAME, "reason").send_keys("box on a shadow, not a cone")
    card.find_element(By.CSS_SELECTOR, "form.flag button").click()
    WebDriverWait(browser, 10).until(seen.staleness_of(card))  # the form posted, page reloaded

    flagged = WebDriverWait(browser, 10).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, f"{selector}.flagged"))
    )
    assert f"Flagged by {REVIEWER}" in flagged.text
    assert "box on a shadow, not a cone" in flagged.text
    assert browser.current_url.endswith(f"#frame-{frame_id}")
    [flag] = catalog.flags()
    assert (flag.frame_id, flag.reason, flag.flagged_by, flag.model_version) == (
        frame_id,
        "box on a shadow, not a cone",
        REVIEWER,
        VERSION,
    )


def test_the_token_opens_the_page_once_and_the_cookie_carries_the_flag(
    token_server, browser, catalog, store
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = token_server
    browser.get(f"{url}/slices/{SLICE_NAME}")
    assert "needs its access token" in browser.page_source
    browser.get(f"{url}/slices/{SLICE_NAME}?token={token}&min_conf=0.1")
    assert "token" not in browser.current_url  # the redirect dropped it, the cookie holds it
    card = browser.find_element(By.CSS_SELECTOR, "li.card")
    frame_id = card.get_attribute("data-frame-id")
    image = card.find_element(By.TAG_NAME, "img")
    WebDriverWait(browser, 10).until(lambda _: image.get_attribute("complete") == "true")
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 64
    card.find_element(By.NAME, "reason").send_keys("missed a green cone")
    card.find_element(By.CSS_SELECTOR, "form.flag button").click()
    WebDriverWait(browser, 10).until(seen.staleness_of(card))
    WebDriverWait(browser, 10).until(
        seen.presence_of_element_located(
            (By.CSS_SELECTOR, f'li.card.flagged[data-frame-id="{frame_id}"]')
        )
    )
    [flag] = catalog.flags()
    assert (flag.frame_id, flag.reason) == (frame_id, "missed a green cone")
