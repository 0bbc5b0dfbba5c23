"""Fixtures of the versioned-store contract suite: a `store` per backend and a fresh repository.

`local` always runs. `lakefs` runs when LAKECTL_* variables point at a server and is skipped
with the reason otherwise; its repositories get unique names and are deleted at teardown, so a
shared server is left as it was found.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from resources.versioning.errors import NotFoundError

LAKEFS_ENV = (
    "LAKECTL_SERVER_ENDPOINT_URL",
    "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
)


@pytest.fixture(params=["local", pytest.param("lakefs", marks=pytest.mark.lakefs)])
def store(request, tmp_path):
    if request.param == "local":
        from resources.versioning.local import LocalStore

        return LocalStore(tmp_path / "store")
    if not all(os.environ.get(name) for name in LAKEFS_ENV):
        pytest.skip("no lakeFS server configured: set LAKECTL_SERVER_ENDPOINT_URL and credentials")
    from resources.versioning.lakefs_store import LakeFSStore

    return LakeFSStore()


@pytest.fixture
def new_repo_name(store):
    """Make unique repository names; whatever was created under them is deleted at teardown."""
    names: list[str] = []

    def make() -> str:
        names.append(f"ct-{uuid.uuid4().hex[:10]}")
        return names[-1]

    yield make
    for name in names:
        with contextlib.suppress(NotFoundError):
            store.delete_repository(name)


@pytest.fixture
def repo(store, new_repo_name) -> str:
    """A new repository whose default branch is `main`."""
    name = new_repo_name()
    store.create_repository(name)
    return name
