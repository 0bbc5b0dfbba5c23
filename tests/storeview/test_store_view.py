"""The store view (entrypoints/storeview) over a real `LocalStore`: objects with their stored
content types, listings, and what it refuses (missing paths, traversal, writes, foreign hosts)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from entrypoints.storeview import create_app
from resources.versioning.local import LocalStore

REPO = "drive-data"
PAGE = b'<html><head><link rel="stylesheet" href="../static/style.css"></head>Validation</html>'


@pytest.fixture
def store(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO, "main")
    store.put(REPO, "main", "docs/validations/run.html", PAGE, content_type="text/html")
    store.put(REPO, "main", "docs/static/style.css", b"body{}", content_type="text/css")
    store.put(REPO, "main", "frames/frames.parquet", b"PAR1", content_type="application/x-parquet")
    store.commit(REPO, "main", "docs and frames")
    return store


@pytest.fixture
def client(store):
    return TestClient(create_app(store), base_url="http://127.0.0.1")


def test_object_with_its_content_type(client, store):
    commit = store.resolve(REPO, "main")
    for ref in ("main", commit):
        answer = client.get(f"/{REPO}/{ref}/docs/validations/run.html")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.content == PAGE
    css = client.get(f"/{REPO}/main/docs/static/style.css")  # where the page's relative link goes
    assert css.headers["content-type"].startswith("text/css") and css.content == b"body{}"
    head = client.head(f"/{REPO}/main/frames/frames.parquet")
    assert head.status_code == 200 and head.headers["content-length"] == "4"


def test_listing_of_a_prefix(client):
    root = client.get(f"/{REPO}/main/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    assert 'href="docs/"' in root.text and 'href="frames/"' in root.text
    docs = client.get(f"/{REPO}/main/docs/validations/")
    assert 'href="run.html"' in docs.text
    bare = client.get(f"/{REPO}/main/docs", follow_redirects=False)
    assert bare.status_code == 307 and bare.headers["location"].endswith(f"/{REPO}/main/docs/")
    assert "main" in client.get(f"/{REPO}/").text and REPO in client.get("/").text


@pytest.mark.parametrize(
    "path",
    [
        f"/{REPO}/main/docs/missing.html",
        f"/{REPO}/main/nothing/",
        f"/{REPO}/no-such-branch/x",
        "/no-such-repo/main/x",
    ],
)
def test_missing_is_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "path",
    [
        f"/{REPO}/main/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"/{REPO}/main/docs//static/style.css",
        f"/{REPO}/main/docs/%5c..%5cetc",
        f"/{REPO}/main~x~/docs",
    ],
)
def test_traversal_and_bad_names_are_400(client, path):
    answer = client.get(path)
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_refused(client, store, method):
    before = store.resolve(REPO, "main")
    answer = client.request(method, f"/{REPO}/main/docs/validations/run.html", content=b"x")
    assert answer.status_code == 405
    assert store.resolve(REPO, "main") == before and store.uncommitted(REPO, "main") == []


def test_foreign_host_is_refused(store):
    client = TestClient(create_app(store), base_url="http://attacker.example")
    assert client.get(f"/{REPO}/main/docs/validations/run.html").status_code == 400
    with pytest.raises(ValueError, match="patterns"):
        create_app(store, allowed_hosts=("*",))
