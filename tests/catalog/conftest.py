"""Fixtures of the catalog tests: a fresh `catalog` per test on each database backend.

`sqlite` always runs, on a real file in a tmp dir. `postgres` runs against a throwaway cluster
that this file starts itself (initdb in a tmp dir, pg_ctl on a free port, trust auth on
127.0.0.1 only) when PostgreSQL's server binaries and the `psycopg` driver are present, and is
left out otherwise (one test reports the skip and why). Postgres tests share one schema,
emptied after each test; `fresh_db_url` gives a schema with no tables at all.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import uuid
from collections.abc import Callable, Iterator

import pytest

from deploy.lakefs.stack import PG_USER, LakeFSUnavailable, pg_bindir, postgres
from resources.catalog import Catalog
from tests.catalog.faults import FaultCounter


def _postgres_unavailable() -> str | None:
    """Why the postgres backend cannot run here, or None when it can."""
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install 'psycopg[binary]==3.3.9')"
    if pg_bindir() is None:
        return "PostgreSQL server binaries not found (apt-get install -y postgresql)"
    if os.geteuid() == 0 and not _system_user(PG_USER):
        return f"running as root and there is no {PG_USER!r} user to run the server as"
    return None


def _system_user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


POSTGRES_UNAVAILABLE = _postgres_unavailable()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster for this test session; yields a SQLAlchemy URL to its `postgres` db."""
    if POSTGRES_UNAVAILABLE:
        pytest.skip(POSTGRES_UNAVAILABLE)
    try:
        with postgres() as url:  # postgres://postgres@127.0.0.1:<port>/postgres?sslmode=…
            yield "postgresql+psycopg://" + url.removeprefix("postgres://").split("?")[0]
    except LakeFSUnavailable as error:
        pytest.fail(str(error))


@contextlib.contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on the server; yields a URL whose connections use it by default."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{server_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# Without PostgreSQL, the API tests run on SQLite alone and `test_catalog_on_postgres` is the
# one test that reports the skip and its reason.
BACKENDS = ["sqlite"]
if not POSTGRES_UNAVAILABLE:
    BACKENDS.append(pytest.param("postgres", marks=pytest.mark.postgres))


@pytest.fixture(scope="session")
def postgres_catalog(postgres_server) -> Iterator[tuple[str, Callable[[], None]]]:
    """One schema for the session's postgres tests, and a function that empties its tables."""
    from sqlalchemy import create_engine, delete, inspect

    from resources.catalog.base import CatalogModel

    with postgres_schema(postgres_server) as url:
        engine = create_engine(url)

        def empty() -> None:
            # DELETE, not TRUNCATE: a few rows per test, and TRUNCATE rewrites every file.
            with engine.begin() as conn:
                existing = set(inspect(conn).get_table_names())
                for table in reversed(CatalogModel.metadata.sorted_tables):
                    if table.name in existing:
                        conn.execute(delete(table))

        yield url, empty
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty catalog database on each backend (tables may already exist)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    url, empty = request.getfixturevalue("postgres_catalog")
    try:
        yield url
    finally:
        empty()


@pytest.fixture(params=BACKENDS)
def fresh_db_url(request, tmp_path) -> Iterator[str]:
    """The URL of a database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def races(request) -> Iterator[FaultCounter]:
    """Count the races a test ran; a round is counted once its invariants held."""
    counter = FaultCounter("races", request.node.nodeid)
    yield counter
    counter.report()


@pytest.fixture
def bad_inputs(request) -> Iterator[FaultCounter]:
    """Count the bad inputs a test saw refused with a clear error."""
    counter = FaultCounter("bad_inputs", request.node.nodeid)
    yield counter
    counter.report()


@pytest.fixture
def catalog(db_url) -> Iterator[Catalog]:
    with Catalog(db_url) as opened:
        yield opened


@pytest.fixture
def cone(catalog):
    """Register version `v` of the cone detector with small defaults."""

    def register(version: str, **overrides):
        fields = {
            "branch": f"run/train-{version}",
            "commit": f"{version:0>64}"[-64:],
            "training_set_commit": "a" * 64,
            "metrics": {"ap50": {"all": 0.5, "rain": 0.2}},
            "card_path": f"models/cone_detector/{version}/card.md",
        }
        return catalog.register_model("cone_detector", version, **{**fields, **overrides})

    return register
