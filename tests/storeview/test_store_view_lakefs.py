"""On lakeFS the Data Docs link renders: a live lakeFS server (built in build/lakefs, local KV
and local blockstore, started here), one `fleet_logs` run on it that commits GX Data Docs, and
`fleetloop store-view --backend lakefs` reading that server. The check's `data_docs` link is
the store view's page, which headless Chromium shows as the GX page; `data_docs_lakefs_ui`,
the lakeFS UI's object page of the same file, answers too, and so does the run's data link,
which for a non-HTML object is the lakeFS UI page.

Skipped, saying why, where lakeFS cannot be built or started, or Chromium is missing.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import dagster as dg
import pytest

from resources.store_resource import LakeFSStoreResource
from resources.versioning.errors import NotFoundError
from tests.browser import chromium
from tests.storeview import serving
from tests.storeview.checked import one_checked_drive

pytestmark = pytest.mark.lakefs


@pytest.fixture(scope="module")
def lakefs_env(tmp_path_factory):
    """The `LAKECTL_*` variables of a lakeFS server this module starts."""
    from deploy.lakefs import server

    try:
        if not all(server.binary(name).exists() for name in server.COMMANDS):
            server.build()
        with server.serving(tmp_path_factory.mktemp("lakefs")) as running:
            yield running.environment()
    except server.LakeFSUnavailable as exc:
        pytest.skip(f"no lakeFS server: {exc}")


@pytest.fixture
def repository(lakefs_env, monkeypatch) -> LakeFSStoreResource:
    """A fresh repository on the server, deleted afterwards; the process talks to the server."""
    for name, value in lakefs_env.items():
        monkeypatch.setenv(name, value)
    resource = LakeFSStoreResource(repository=f"links-{uuid.uuid4().hex[:10]}")
    yield resource
    with contextlib.suppress(NotFoundError):
        resource.open().delete_repository(resource.repository)


def test_data_docs_on_lakefs_open_rendered_in_the_store_view(
    tmp_path, monkeypatch, lakefs_env, repository
):
    import requests
    from selenium.webdriver.common.by import By

    port = serving.free_port()
    monkeypatch.setenv("FLEETLOOP_STORE_VIEW_URL", f"http://127.0.0.1:{port}")
    instance, metadata = one_checked_drive(repository)
    docs, ui = metadata["data_docs"].value, metadata["data_docs_lakefs_ui"].value
    suite = metadata["suite"].value
    endpoint = lakefs_env["LAKECTL_SERVER_ENDPOINT_URL"]
    assert docs.startswith(f"http://127.0.0.1:{port}/{repository.repository}/"), docs
    assert ui.startswith(f"{endpoint}/repositories/{repository.repository}/object?ref="), ui

    env = {**os.environ, "FLEETLOOP_HOME": str(tmp_path / "home")}
    with (
        serving.store_view(env, tmp_path / "store_view.log", port=port, backend="lakefs"),
        chromium(tmp_path / "chromium") as browser,
    ):
        answer = requests.get(docs, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(
            "text/html"
        ), (answer.status_code, answer.headers)
        browser.get(docs)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert suite in body, body[:1000]
        index = browser.find_element(By.CSS_SELECTOR, 'a[href$="index.html"]').get_attribute("href")
        browser.get(index)
        assert "Validation Results" in browser.find_element(By.TAG_NAME, "body").text

    # the lakeFS UI is a single-page app: its object pages answer its index.html
    materialized = instance.get_latest_materialization_event(dg.AssetKey("fleet_logs"))
    data = materialized.asset_materialization.metadata
    assert data["store_url"] == data["lakefs_ui_url"], data  # not HTML: the lakeFS UI page
    for url in (ui, data["store_url"].value):
        page = requests.get(url, timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower(), (url, page.status_code)
