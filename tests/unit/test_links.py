"""Links in Dagster metadata that open in a browser (assets/links.py, assets/results.py)."""

from __future__ import annotations

import dagster as dg

from assets.links import StoreBrowser, store_browser
from assets.results import store_metadata
from resources.versioning.local import LocalStore

COMMIT = "ab" * 32


def test_store_view_url():
    view = StoreBrowser("http://127.0.0.1:3030/")
    assert view.url("drive-data", COMMIT, "quality/frames/index.html") == (
        f"http://127.0.0.1:3030/drive-data/{COMMIT}/quality/frames/index.html"
    )
    assert view.url("drive-data", "main", "a b/c#d.html").endswith("/main/a%20b/c%23d.html")
    assert view.ui_url("drive-data", "main", "models/m.pt") is None


def test_on_lakefs_objects_open_in_its_ui_and_html_in_the_store_view():
    lakefs = StoreBrowser("http://127.0.0.1:3030", lakefs_ui="http://lakefs.local:8000")
    assert lakefs.url("drive-data", "main", "models/v1/model.pt") == (
        "http://lakefs.local:8000/repositories/drive-data/object"
        "?ref=main&path=models%2Fv1%2Fmodel.pt"
    )
    # the lakeFS UI shows HTML as source: a report or a Data Docs page renders in the view
    assert lakefs.url("drive-data", "main", "reports/v1/Report.HTML") == (
        "http://127.0.0.1:3030/drive-data/main/reports/v1/Report.HTML"
    )
    assert lakefs.ui_url("drive-data", "main", "reports/v1/report.html") == (
        "http://lakefs.local:8000/repositories/drive-data/object"
        "?ref=main&path=reports%2Fv1%2Freport.html"
    )


def test_browser_follows_the_store_and_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("FLEETLOOP_STORE_VIEW_URL", raising=False)
    assert store_browser(LocalStore(tmp_path)) == StoreBrowser("http://127.0.0.1:3030")
    monkeypatch.setenv("FLEETLOOP_STORE_VIEW_URL", "https://store.example:9443")
    assert store_browser(LocalStore(tmp_path)).view == "https://store.example:9443"

    class LakeFSLike(LocalStore):
        def web_endpoint(self) -> str:
            return "http://127.0.0.1:8000"

    assert store_browser(LakeFSLike(tmp_path)) == StoreBrowser(
        "https://store.example:9443", lakefs_ui="http://127.0.0.1:8000"
    )


def test_lakefs_store_names_its_ui():
    import lakefs

    from resources.versioning.lakefs_store import LakeFSStore

    client = lakefs.Client(host="http://127.0.0.1:8000", username="k", password="s")
    assert LakeFSStore(client).web_endpoint() == "http://127.0.0.1:8000"


def test_store_metadata_keeps_its_keys_and_adds_a_url(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETLOOP_STORE_VIEW_URL", "http://127.0.0.1:4000")
    meta = store_metadata("drive-data", COMMIT, ["models/m.pt"], store=LocalStore(tmp_path))
    assert meta["store_commit"].value == COMMIT
    assert meta["lakefs_uri"].value == f"lakefs://drive-data/{COMMIT}/models/m.pt"
    assert meta["store_url"] == dg.MetadataValue.url(
        f"http://127.0.0.1:4000/drive-data/{COMMIT}/models/m.pt"
    )
    assert "lakefs_ui_url" not in meta
