"""Fixtures of the versioned-store contract suite: a `store` per backend and a fresh repository.

`local` always runs. `lakefs` runs against the server LAKECTL_* variables name, or else against
one this session starts from build/lakefs (built first when Go is here) in a temporary home,
local KV and local blockstore, and stops at the end. `lakefs-s3` is the production shape: a
lakeFS this session starts with its metadata in a throwaway PostgreSQL cluster and its objects
on moto's S3 server, transfers pre-signed. Each is skipped with the reason where it cannot run
(no Go, no PostgreSQL, no moto). Repositories get unique names and are deleted at teardown, so
a shared server is left as it was found.
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


@pytest.fixture(scope="session")
def lakefs_server(tmp_path_factory):
    """The lakeFS server's (endpoint, access key id, secret key) for this test session."""
    if all(os.environ.get(name) for name in LAKEFS_ENV):
        yield tuple(os.environ[name] for name in LAKEFS_ENV)
        return
    from deploy.lakefs import server

    try:
        if not all(server.binary(name).exists() for name in server.COMMANDS):
            server.build()
        with server.serving(tmp_path_factory.mktemp("lakefs")) as running:
            yield running.endpoint, running.access_key_id, running.secret_access_key
    except server.LakeFSUnavailable as exc:
        pytest.skip(f"no lakeFS server: {exc}")


@pytest.fixture(scope="session")
def lakefs_s3_server(tmp_path_factory):
    """A lakeFS on PostgreSQL and S3 (moto) with pre-signed URLs, for this test session."""
    from deploy.lakefs import server, stack

    root = tmp_path_factory.mktemp("lakefs-s3")
    try:
        if not server.binary("lakefs").exists():
            server.build()
        with (
            stack.postgres() as database,
            stack.s3_server(root / "s3") as s3,
            server.serving(
                root / "lakefs",
                config=lambda home, secret: stack.production_config(home, secret, database, s3),
            ) as running,
        ):
            yield running.endpoint, running.access_key_id, running.secret_access_key
    except server.LakeFSUnavailable as exc:
        pytest.skip(f"no lakeFS on PostgreSQL and S3: {exc}")


def _client(endpoint_and_keys):
    import lakefs

    endpoint, key_id, secret = endpoint_and_keys
    return lakefs.Client(host=endpoint, username=key_id, password=secret)


@pytest.fixture
def lakefs_client(lakefs_server):
    return _client(lakefs_server)


@pytest.fixture(
    params=[
        "local",
        pytest.param("lakefs", marks=pytest.mark.lakefs),
        pytest.param("lakefs-s3", marks=pytest.mark.lakefs),
    ]
)
def store(request, tmp_path):
    if request.param == "local":
        from resources.versioning.local import LocalStore

        return LocalStore(tmp_path / "store")
    from resources.versioning.lakefs_store import LakeFSStore

    if request.param == "lakefs":
        return LakeFSStore(_client(request.getfixturevalue("lakefs_server")))
    store = LakeFSStore(_client(request.getfixturevalue("lakefs_s3_server")))
    assert store._presign(), "the S3 configuration is meant to transfer pre-signed"
    return store


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
