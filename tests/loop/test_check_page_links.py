"""The links in Dagster's metadata open, from where the user sees them.

One module-scoped story on a persistent instance (the loop's small fleet: upload, the baseline
cycle to a first promotion) with `$FLEETLOOP_STORE_VIEW_URL` naming a port chosen first; then
`fleetloop store-view` serves the home's store on that port and `dagster-webserver` serves the
instance. Headless Chromium opens the label batch check's page, finds the Data Docs link
among the metadata Dagster renders for its latest execution, clicks it and must land on the
GX page of that validation. A walk over every materialization and check evaluation on the
instance finds every `lakefs://` URI beside an http link, and every http link answers 200
with a body.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from entrypoints.demo.instance import demo_environment, prepare_instance, repo_root
from quality.checks import LABEL_BATCH_CHECK
from tests.browser import chromium
from tests.loop.conftest import EPOCHS, SMALL_SLICES
from tests.loop.harness import LoopHarness
from tests.loop.test_lineage_ui import dismiss_welcome_dialog, wait_for_definitions
from tests.storeview import serving

pytestmark = pytest.mark.slow

EVENTS = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}


@pytest.fixture(scope="module")
def store_view_url() -> str:
    return f"http://127.0.0.1:{serving.free_port()}"


@pytest.fixture(scope="module")
def home(tmp_path_factory, fleet, labelers, store_view_url) -> Path:
    """A home whose instance holds the upload and the baseline cycle, links made for the view."""
    home = tmp_path_factory.mktemp("check_page_links")
    dagster_home = prepare_instance(home)
    with (
        pytest.MonkeyPatch.context() as env,
        dg.DagsterInstance.from_config(str(dagster_home)) as instance,
    ):
        env.setenv("FLEETLOOP_STORE_VIEW_URL", store_view_url)
        harness = LoopHarness(home, instance, slices=SMALL_SLICES, epochs=EPOCHS)
        harness.upload(fleet)
        assert all(run.success for run in harness.sensor("fleet_upload_sensor"))
        harness.settle()
        harness.answer(labelers)
        assert all(run.success for run in harness.sensor("label_batch_sensor"))
        harness.settle()
        assert harness.materialized("production_model") is not None
    return home


@pytest.fixture(scope="module")
def store_view(home, store_view_url, tmp_path_factory) -> Iterator[str]:
    """`fleetloop store-view` over the home's embedded store, at `store_view_url`."""
    port = int(store_view_url.rsplit(":", 1)[1])
    log_path = tmp_path_factory.mktemp("store_view") / "store_view.log"
    with serving.store_view(demo_environment(home), log_path, port=port) as base:
        yield base


@pytest.fixture(scope="module")
def webserver(home, store_view_url, tmp_path_factory) -> Iterator[str]:
    """`dagster-webserver -w workspace.yaml` on the home's instance; its base URL."""
    port = serving.free_port()
    command = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        *("-w", str(repo_root() / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)),
    ]
    env = demo_environment(home, {"FLEETLOOP_STORE_VIEW_URL": store_view_url})
    log_path = tmp_path_factory.mktemp("webserver") / "webserver.log"
    url = f"http://127.0.0.1:{port}"
    with serving.served(command, env, log_path) as process:
        wait_for_definitions(url, process, log_path)
        yield url


def metadata_events(home: Path) -> Iterable[tuple[str, dict]]:
    """(what, metadata) of every materialization and check evaluation on the home's instance."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id, of_type=EVENTS):
                event = entry.dagster_event
                data = event.event_specific_data
                if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    done = data.materialization
                    yield f"{done.asset_key.to_user_string()} {done.partition}", dict(done.metadata)
                else:
                    label = f"{data.asset_key.to_user_string()} check {data.check_name}"
                    yield label, dict(data.metadata)


def check_metadata(home: Path, asset: str, check: str) -> dict:
    key = dg.AssetCheckKey(dg.AssetKey(asset), check)
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        record = instance.get_latest_asset_check_evaluation_record(key)
        assert record is not None, f"{asset} check {check} never ran"
        return dict(record.event.dagster_event.event_specific_data.metadata)


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium", window="1600,1400", page_load_s=30) as driver:
        yield driver


def test_the_data_docs_link_on_the_check_page_opens_the_gx_page(
    home, store_view, webserver, browser, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    metadata = check_metadata(home, "label_sets", LABEL_BATCH_CHECK)
    assert "data_docs" in metadata, f"the latest {LABEL_BATCH_CHECK} has no Data Docs: {metadata}"
    docs, suite = metadata["data_docs"].value, metadata["suite"].value
    assert docs.startswith(f"{store_view}/"), docs

    browser.get(f"{webserver}/assets/label_sets?view=checks&checkDetail={LABEL_BATCH_CHECK}")
    link = (By.CSS_SELECTOR, f'a[href="{docs}"]')
    try:
        WebDriverWait(browser, 60, poll_frequency=0.5).until(seen.presence_of_element_located(link))
        dismiss_welcome_dialog(browser)
        before = set(browser.window_handles)
        anchor = WebDriverWait(browser, 10).until(seen.element_to_be_clickable(link))
        anchor.click()
        # Dagster opens metadata URLs in a new tab; follow it if it did
        WebDriverWait(browser, 10).until(
            lambda d: set(d.window_handles) - before or d.current_url == docs
        )
        if opened := set(browser.window_handles) - before:
            browser.switch_to.window(opened.pop())
        WebDriverWait(browser, 20).until(lambda d: d.current_url == docs)
        WebDriverWait(browser, 20).until(
            lambda d: "Expectation Validation Result" in d.find_element(By.TAG_NAME, "body").text
        )
    finally:
        browser.save_screenshot(str(tmp_path / "after_click.png"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"Expectation Suite: {suite}" in body, body[:1000]
    assert "Expectation Validation Result" in body, body[:1000]
    # the page's own links resolve in the store view: its site's index lists the validations
    home_link = (By.CSS_SELECTOR, 'a[href$="index.html"]')
    WebDriverWait(browser, 10).until(seen.element_to_be_clickable(home_link)).click()
    WebDriverWait(browser, 20).until(lambda d: d.current_url.endswith("index.html"))
    assert browser.current_url.startswith(f"{store_view}/"), browser.current_url
    WebDriverWait(browser, 20).until(
        lambda d: "Validation Results" in d.find_element(By.TAG_NAME, "body").text
    )


def test_every_lakefs_uri_has_an_http_link_that_opens(home, store_view):
    import requests

    links: dict[str, str] = {}
    for what, metadata in metadata_events(home):
        uris = [k for k, v in metadata.items() if str(v.value).startswith("lakefs://")]
        urls = {k: v.value for k, v in metadata.items() if isinstance(v, dg.UrlMetadataValue)}
        assert not uris or urls, f"{what}: {uris} have no http link beside them"
        links.update({url: f"{what} {key}" for key, url in urls.items()})
    kinds = {where.rsplit(" ", 1)[1] for where in links.values()}
    assert {"store_url", "data_docs", "report_url"} <= kinds, kinds
    with requests.Session() as session:
        for url, where in sorted(links.items()):
            response = session.get(url, timeout=30)
            assert response.status_code == 200, f"{where}: {url} answered {response.status_code}"
            assert response.content, f"{where}: {url} answered an empty body"
