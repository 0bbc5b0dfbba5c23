"""The catalog's connection to its database: URL choice, engine set-up, short transactions.

SQLite is written to by several processes at once (Dagster run workers, the daemon, the CLI),
so it runs in WAL mode (readers never block the writer) with a busy timeout, and every write
transaction starts with `BEGIN IMMEDIATE`: the write lock is taken up front, where SQLite
waits for it, instead of on the first INSERT, where a reader upgrading to a writer gets
"database is locked" at once. It syncs every commit (`synchronous = FULL`, as the store does),
so a commit the store holds is never ahead of the catalog row that goes with it after a power
loss. Any other SQLAlchemy URL (PostgreSQL for teams) is used as is; there every
read-check-write locks the rows it checks (`SELECT ... FOR UPDATE`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from resources.catalog.base import CatalogModel
from resources.catalog.errors import (
    CatalogError,
    CatalogUnavailableError,
    InvalidRecordError,
    RecordConflictError,
)
from resources.settings import fleetloop_home

CATALOG_URL_ENV = "FLEETLOOP_CATALOG_URL"
SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_SYNCHRONOUS = "FULL"  # NORMAL loses the last commits on power loss (WAL mode)
_WRITE = "fleetloop_write"  # execution option: this connection's transactions will write


def catalog_url(url: str | None = None) -> str:
    """`url`, else `$FLEETLOOP_CATALOG_URL`, else SQLite at `$FLEETLOOP_HOME/catalog.db`."""
    if url:
        return url
    if env := os.environ.get(CATALOG_URL_ENV):
        return env
    return f"sqlite:///{fleetloop_home() / 'catalog.db'}"


# Greedy up to the last '@' of the line: a malformed URL's password may hold '@' or spaces.
_CREDENTIALS = re.compile(r"(?P<user>//[^/@:\s]*):.*@")
_BARE_CREDENTIALS = re.compile(r":.*@")  # user:password@host without a scheme
_SECRET_PARAMS = re.compile(
    r"(?i)\b(password|passwd|pwd|sslpassword|secret|token)(\s*=\s*)('[^']*'|[^&\s]+)"
)
SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "secret", "token"})


def redacted_url(url: str | URL) -> str:
    """`url` with its password (in the authority or the query) replaced by `***`, even when it
    does not parse as a URL."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError, TypeError):
        return _mask(str(url))
    if parsed.host and "@" in parsed.host:  # an unescaped '@' in the password: mask to the last
        return _mask(parsed.render_as_string(hide_password=False))
    query = {
        key: ("***" if key.lower() in SECRET_QUERY_KEYS else value)
        for key, value in parsed.query.items()
    }
    return parsed.set(query=query).render_as_string(hide_password=True)


def _mask(text: str) -> str:
    masked, found = _CREDENTIALS.subn(r"\g<user>:***@", text)
    if not found:
        masked = _BARE_CREDENTIALS.sub(":***@", masked)
    return _SECRET_PARAMS.sub(r"\1\2***", masked)


class Database:
    """One engine per catalog; `reading()` and `writing()` hand out short-lived sessions."""

    def __init__(self, url: str):
        try:
            if "\0" in url:
                raise ValueError("a NUL byte")
            self.url: URL = make_url(url)
        except (sa_exc.ArgumentError, ValueError):
            raise InvalidRecordError(
                f"catalog URL {redacted_url(url)!r} is not a SQLAlchemy URL; expected e.g. "
                "'sqlite:////path/catalog.db' or 'postgresql+psycopg://user@host/db'"
            ) from None
        self.engine = self._create_engine()
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._tables_ready = False
        self._lock = threading.Lock()

    @property
    def display_url(self) -> str:
        return redacted_url(self.url)

    def scrub(self, message: object) -> str:
        """`message` (a driver's error, which may quote the connection string) with the URL's
        password masked."""
        text = _mask(str(message))
        secrets = [self.url.password, *(self.url.query.get(k) for k in SECRET_QUERY_KEYS)]
        if self.url.host and "@" in self.url.host:
            secrets.append(self.url.host.rsplit("@", 1)[0])
        for secret in secrets:
            for value in secret if isinstance(secret, tuple) else (secret,):
                # Too short a password would mask half the message; the patterns cover it.
                if value and len(str(value)) >= 4:
                    text = text.replace(str(value), "***")
        return text

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _create_engine(self) -> Engine:
        kwargs: dict[str, Any] = {}
        is_sqlite = self.url.get_backend_name() == "sqlite"
        in_memory = is_sqlite and self.url.database in (None, "", ":memory:")
        if in_memory:
            # One connection for the whole process, or every session would see an empty db.
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif is_sqlite:
            try:
                Path(self.url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
            except (OSError, ValueError) as exc:
                raise CatalogUnavailableError(
                    f"cannot create the folder of the catalog {self.display_url}: {exc}"
                ) from None
            kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        else:
            kwargs = {"pool_pre_ping": True}
        try:
            engine = create_engine(self.url, **kwargs)
        except ImportError as exc:
            package = "'psycopg[binary]'" if exc.name == "psycopg" else exc.name
            raise CatalogUnavailableError(
                f"the catalog URL {self.display_url} needs the database driver {exc.name!r}, "
                f"which is not installed: pip install {package}"
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            raise CatalogUnavailableError(
                f"cannot use the catalog URL {self.display_url}: {self.scrub(exc)}"
            ) from None
        if is_sqlite:
            _tune_sqlite(engine, wal=not in_memory)
        return engine

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction; on SQLite in WAL mode it never waits for writers."""
        with self._session(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends, rolled back if it raises."""
        with self._session(self._writer) as session:
            yield session

    @contextlib.contextmanager
    def _session(self, bind: Engine) -> Iterator[Session]:
        self._ensure_tables()
        with self.translated(), Session(bind, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def _ensure_tables(self) -> None:
        if self._tables_ready:
            return
        with self._lock, self.translated():
            if self._tables_ready:
                return
            try:
                with self._writer.begin() as conn:
                    CatalogModel.metadata.create_all(conn)
            except (sa_exc.ProgrammingError, sa_exc.IntegrityError):
                # Another process created them between our check and our CREATE (PostgreSQL
                # DDL is not serialised the way SQLite's BEGIN IMMEDIATE is): check again.
                with self._writer.begin() as conn:
                    CatalogModel.metadata.create_all(conn)
            self._tables_ready = True

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """Turn SQLAlchemy's errors into catalog errors that say what to do."""
        try:
            yield
        except CatalogError:
            raise
        except sa_exc.IntegrityError as exc:
            raise RecordConflictError(
                f"the catalog at {self.display_url} refused a write that clashes with a stored "
                f"record ({self.scrub(exc.orig)}); retrying the call reads the stored record"
            ) from exc
        except sa_exc.OperationalError as exc:
            if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                raise CatalogUnavailableError(
                    f"the catalog at {self.display_url} stayed locked for more than "
                    f"{SQLITE_BUSY_TIMEOUT_S:.0f} s: another process holds a long write "
                    "transaction; retry, or use PostgreSQL (FLEETLOOP_CATALOG_URL) for this load"
                ) from exc
            raise CatalogUnavailableError(
                f"cannot use the catalog at {self.display_url}: {self.scrub(exc.orig)} "
                f"(set {CATALOG_URL_ENV} to a reachable database)"
            ) from None  # the driver's own error may quote the connection string
        except sa_exc.SQLAlchemyError as exc:
            raise CatalogUnavailableError(
                f"the catalog at {self.display_url} failed: {self.scrub(exc)}"
            ) from None
        except UnicodeError as exc:  # the driver's IDNA encoding of a malformed host name
            raise CatalogUnavailableError(
                f"cannot use the catalog at {self.display_url}: its host name is not valid "
                f"({self.scrub(exc)}); set {CATALOG_URL_ENV} to a reachable database"
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: Engine, *, wal: bool) -> None:
    # The recipe of SQLAlchemy's SQLite docs ("Enabling Non-Legacy SQLite Transactional
    # Modes"): keep the sqlite3 module from issuing BEGIN itself, and issue our own.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if wal:
            _switch_to_wal(cursor)
        cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        writes = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, waiting like the busy timeout does: SQLite answers
    "database is locked" at once, without its busy handler, when another process opens the new
    database at the same moment. The mode is stored in the file, so whoever wins, all see WAL."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def insert_ignore(session: Session, model: type[CatalogModel], values: dict[str, Any]) -> bool:
    """Insert one row unless one with the same natural key exists; True if it was inserted.

    SQLite and PostgreSQL do it in one statement (`ON CONFLICT DO NOTHING`), so two processes
    racing on the same key both succeed and one row results. Other databases try the insert
    inside a savepoint instead.
    """
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        dml = sqlite if dialect == "sqlite" else postgresql
        result = session.exec(dml.insert(table).values(**values).on_conflict_do_nothing())
        return result.rowcount == 1
    try:
        with session.begin_nested():
            session.exec(insert(table).values(**values))
    except sa_exc.IntegrityError:
        return False
    return True
