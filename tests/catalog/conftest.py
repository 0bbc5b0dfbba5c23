"""Fixtures of the catalog tests: a fresh `catalog` per test on each database backend.

`sqlite` always runs, on a real file in a tmp dir. `postgres` runs against a throwaway cluster
that this file starts itself (initdb in a tmp dir, pg_ctl on a free port, trust auth on
127.0.0.1 only) when PostgreSQL's server binaries and the `psycopg` driver are present, and is
skipped with the reason otherwise. Each postgres test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.catalog import Catalog

PG_USER = "postgres"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: runs against a throwaway PostgreSQL cluster started by the test"
    )


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name or 0)
    )
    return versions[-1] if versions and (versions[-1] / "pg_ctl").exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster for this test session; yields a SQLAlchemy URL to its `postgres` db."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]==3.3.9')")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install -y postgresql)")
    # initdb refuses to run as root: run the server as the `postgres` system user then.
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(PG_USER)
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        prefix = ["runuser", "-u", PG_USER, "--"]
    root = Path(tempfile.mkdtemp(prefix="fleetloop-pg-"))
    if prefix:
        os.chown(root, account.pw_uid, account.pw_gid)
    data, log, port = root / "data", root / "server.log", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(
            [*prefix, str(bindir / args[0]), *args[1:]], capture_output=True, text=True
        )
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"{args[0]} failed: {done.stderr}{done.stdout}\n{server_log}")

    run("initdb", "-D", str(data), "-U", PG_USER, "--auth=trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
    try:
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty catalog database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_server")) as url:
        yield url


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
