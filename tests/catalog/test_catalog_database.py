"""Where the catalog lives, how SQLite is set up for many writers, and connection errors."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from resources.catalog import (
    Catalog,
    CatalogUnavailableError,
    InvalidRecordError,
    catalog_url,
)
from resources.catalog import database as catalog_database

TABLES = {
    "model_versions",
    "model_aliases",
    "model_alias_moves",
    "promotion_decisions",
    "label_requests",
    "label_batches",
    "rejected_label_batches",
    "review_flags",
    "stage_timings",
}


def test_url_argument_then_environment_then_fleetloop_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLEETLOOP_CATALOG_URL", raising=False)
    assert catalog_url() == f"sqlite:///{tmp_path / 'home' / 'catalog.db'}"
    monkeypatch.setenv("FLEETLOOP_CATALOG_URL", "sqlite:////elsewhere/c.db")
    assert catalog_url() == "sqlite:////elsewhere/c.db"
    assert catalog_url("sqlite:////given.db") == "sqlite:////given.db"


def test_default_catalog_is_created_under_fleetloop_home_on_first_use(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLEETLOOP_CATALOG_URL", raising=False)
    with Catalog() as catalog:
        assert not (tmp_path / "home" / "catalog.db").exists()
        assert catalog.flags() == []
    db = sqlite3.connect(tmp_path / "home" / "catalog.db")
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == TABLES
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_catalog_tables_stay_out_of_the_global_sqlmodel_metadata():
    assert not TABLES & set(SQLModel.metadata.tables)


def test_sqlite_connections_wait_for_the_write_lock(tmp_path):
    with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
        catalog.flags()
        with catalog._db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_sqlite_syncs_every_commit_like_the_store(tmp_path):
    """FULL, not NORMAL: in WAL mode NORMAL leaves the last commits unsynced, so after a power
    loss the store could hold a promotion whose alias move the catalog lost."""
    with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
        catalog.add_flag("f1", "blurry", flagged_by="qa")
        with catalog._db.writing() as session:
            assert session.exec(text("PRAGMA synchronous")).scalar() == 2  # FULL
        with catalog._db.reading() as session:
            assert session.exec(text("PRAGMA synchronous")).scalar() == 2


def test_in_memory_sqlite_keeps_its_data_between_calls():
    with Catalog("sqlite://") as catalog:
        catalog.add_flag("f1", "blurry", flagged_by="qa")
        assert len(catalog.flags()) == 1


def test_a_write_lock_held_too_long_is_reported_and_reads_go_on(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog_database, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "c.db"
    with Catalog(f"sqlite:///{path}") as catalog:
        catalog.add_flag("f1", "blurry", flagged_by="qa")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(CatalogUnavailableError, match="stayed locked for more than"):
                catalog.add_flag("f2", "blurry", flagged_by="qa")
            assert [f.frame_id for f in catalog.flags()] == ["f1"]  # WAL: readers never wait
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        catalog.add_flag("f2", "blurry", flagged_by="qa")
        assert len(catalog.flags()) == 2


def test_a_url_that_is_not_one():
    with pytest.raises(InvalidRecordError, match="is not a SQLAlchemy URL"):
        Catalog("catalog.db")


MALFORMED_URLS = [
    "postgresql+psycopg://fleet:s3cr3t@db:notaport/catalog",  # port not a number
    "postgresql+psycopg://fleet:s3cr3t@@db/catalog",  # a second '@'
    "postgresql+psycopg://fleet:p@s3cr3t@127.0.0.1:1/catalog",  # '@' inside the password
    "fleet:s3cr3t@db/catalog",  # no scheme
    "host=db user=fleet password=s3cr3t dbname=catalog",  # a libpq string, not a URL
    "postgresql+psycopg:///catalog?host=127.0.0.1&port=1&password=s3cr3t",  # in the query
    "postgresql+psycopg://fleet:s3cr3t@127.0.0.1:1/catalog?connect_timeout=x",  # bad option
    "postgresql+nosuchdriver://fleet:s3cr3t@db/catalog",
    "mysql+pymysql://fleet:s3cr3t@db/catalog",
    "sqlite:////tmp/catalog\0.db",
    "postgresql+psycopg://fleet:s3cr3t pass@db:notaport/catalog",  # a space in the password
    "postgresql+psycopg://fleet:s3cr3t_@.la$@127.0.0.1:1/catalog",  # an empty IDNA label
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_bad_url_never_shows_its_password(url, bad_inputs):
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    with pytest.raises((InvalidRecordError, CatalogUnavailableError)) as raised:
        with Catalog(url) as catalog:
            assert "s3cr3t" not in catalog.url and "s3cr3t" not in repr(catalog)
            catalog.models("cone_detector")
    error = raised.value
    # What a logged traceback prints: the error, its cause, and its context unless suppressed.
    shown = [error, error.__cause__, None if error.__suppress_context__ else error.__context__]
    assert not any("s3cr3t" in f"{e} {e!r}" for e in shown if e is not None), shown
    assert "catalog" in str(error)
    bad_inputs.count()


def test_a_missing_driver_is_named():
    with pytest.raises(CatalogUnavailableError, match="driver 'pymysql'.*pip install pymysql"):
        Catalog("mysql+pymysql://fleet@localhost/catalog")
    with pytest.raises(CatalogUnavailableError, match="cannot use the catalog URL"):
        Catalog("postgresql+nosuchdriver://fleet@localhost/catalog")


def test_an_unreachable_server_is_reported_with_the_password_masked():
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://fleet:s3cret@127.0.0.1:{port}/catalog?connect_timeout=2"
    with Catalog(url) as catalog:
        assert "s3cret" not in catalog.url and "s3cret" not in repr(catalog)
        with pytest.raises(CatalogUnavailableError, match="FLEETLOOP_CATALOG_URL") as raised:
            catalog.models("cone_detector")
    assert "s3cret" not in str(raised.value)


def test_the_catalog_file_is_plain_sqlite(tmp_path):
    path = tmp_path / "c.db"
    with Catalog(f"sqlite:///{path}") as catalog:
        catalog.record_request("req-1", frames=3, slices={"rain": 3})
    db = sqlite3.connect(path)
    assert db.execute("SELECT request_id, frames, status FROM label_requests").fetchall() == [
        ("req-1", 3, "open")
    ]
    db.close()


@pytest.mark.postgres
def test_catalog_on_postgres(postgres_server):
    """The throwaway cluster works end to end (the API suites then run on it too)."""
    with Catalog(postgres_server) as catalog:
        catalog.add_flag("f1", "blurry", flagged_by="qa")
        assert catalog.url.startswith("postgresql+psycopg://")
        assert [f.frame_id for f in catalog.flags()] == ["f1"]
        with catalog._db.engine.connect() as conn:
            assert conn.execute(text("SHOW server_version")).scalar()


URL_SHAPES = [
    "postgresql+psycopg://fleet:{}@db:notaport/catalog",
    "postgresql+psycopg://fleet:{}@@db/catalog",
    "fleet:{}@db/catalog",
    "postgresql+psycopg://fleet:{}@127.0.0.1:1/catalog?connect_timeout=x",
    "postgresql+nosuchdriver://fleet:{}@db/catalog",
    "host=db password={} dbname=catalog",
    "postgresql+psycopg://fleet:{}@127.0.0.1:1/catalog",
]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shape=st.sampled_from(URL_SHAPES),
    secret=st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="'\"\\"),
        min_size=6,
        max_size=16,
    ).map(lambda s: f"Zq{s}"),
)
def test_no_malformed_url_shows_any_password(shape, secret, bad_inputs):
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    url = shape.format(secret)
    try:
        with Catalog(url) as catalog:
            assert secret not in catalog.url
            catalog.models("cone_detector")
    except (InvalidRecordError, CatalogUnavailableError) as error:
        context = None if error.__suppress_context__ else error.__context__
        for shown in (error, error.__cause__, context):
            if shown is not None:
                assert secret not in f"{shown} {shown!r}", (url, str(shown))
        bad_inputs.count()
