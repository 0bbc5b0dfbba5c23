"""The staging area and the commit-id index of one repository, in SQLite (WAL).

Staged writes are rows (branch, path, blob id or NULL for a delete, a write stamp). A commit
takes a snapshot of a branch's rows and afterwards deletes exactly those rows whose stamp did
not change, so a write that lands while the commit runs stays staged instead of being lost.
A commit moves its branch and then settles its rows; between the two, an intent row
(branch, new commit, the stamps it took) is what lets the next holder of the branch lock, or a
process opening the repository, finish a commit whose process died there: if the branch is at
that commit (or past it), its rows are dropped, else they stay staged.
Commit ids are 64-hex (lakeFS-style); the index maps them to libgit2 commit oids and answers
unique-prefix look-ups.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staged (
    branch TEXT NOT NULL, path TEXT NOT NULL, blob TEXT, stamp INTEGER NOT NULL,
    mtime REAL NOT NULL, PRIMARY KEY (branch, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS intents (
    branch TEXT PRIMARY KEY, oid TEXT NOT NULL, stamps TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commit_ids (id TEXT PRIMARY KEY, oid TEXT NOT NULL) WITHOUT ROWID;
"""

StagedRow = tuple[str, str | None, int, float]  # path, blob (None = deleted), stamp, mtime


class StagingArea:
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def stage(self, branch: str, rows: Iterable[tuple[str, str | None]]) -> None:
        now = time.time()
        stamp = secrets.randbits(62)  # one per write batch: it only has to change on rewrite
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO staged VALUES (?, ?, ?, ?, ?) ON CONFLICT (branch, path) DO UPDATE "
                "SET blob = excluded.blob, stamp = excluded.stamp, mtime = excluded.mtime",
                ((branch, path, blob, stamp, now) for path, blob in rows),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get(self, branch: str, path: str) -> StagedRow | None:
        row = (
            self._db()
            .execute(
                "SELECT path, blob, stamp, mtime FROM staged WHERE branch = ? AND path = ?",
                (branch, path),
            )
            .fetchone()
        )
        return row

    def rows(self, branch: str, prefix: str = "") -> list[StagedRow]:
        db = self._db()
        if not prefix:
            query = "SELECT path, blob, stamp, mtime FROM staged WHERE branch = ? ORDER BY path"
            return db.execute(query, (branch,)).fetchall()
        query = (
            "SELECT path, blob, stamp, mtime FROM staged "
            "WHERE branch = ? AND path >= ? AND path < ? ORDER BY path"
        )
        return db.execute(query, (branch, prefix, prefix + "\U0010ffff")).fetchall()

    def has_rows(self, branch: str) -> bool:
        query = "SELECT 1 FROM staged WHERE branch = ? LIMIT 1"
        return self._db().execute(query, (branch,)).fetchone() is not None

    def settle(self, branch: str, stamps: str | None) -> None:
        """End a commit on `branch`: delete the rows it took (by `stamps`, from `intent`)
        unless they were rewritten since, and its intent row, in one transaction. None: the
        commit did not happen, only the intent goes.

        Rows are deleted by stamp: a stamp names one `stage` call, written in one transaction,
        and the commit's rows came from one SELECT, so it holds either every row still carrying
        a stamp or none of them, while a rewritten row carries a new stamp. One pass over the
        branch's rows instead of one look-up per path."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if stamps is not None:
                db.execute(
                    "DELETE FROM staged WHERE branch = ? "
                    "AND stamp IN (SELECT value FROM json_each(?))",
                    (branch, stamps),
                )
            db.execute("DELETE FROM intents WHERE branch = ?", (branch,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def drop(self, branch: str, rows: Iterable[StagedRow]) -> None:
        """Delete the given rows unless they were rewritten since they were read."""
        self.settle(branch, stamps_of(rows))

    def intent(self, branch: str) -> tuple[str, str] | None:
        """(commit oid, stamps) of a commit on `branch` that has not been settled."""
        query = "SELECT oid, stamps FROM intents WHERE branch = ?"
        return self._db().execute(query, (branch,)).fetchone()

    def intent_branches(self) -> list[str]:
        return [row[0] for row in self._db().execute("SELECT branch FROM intents")]

    def clear(self, branch: str, path: str | None = None) -> None:
        db = self._db()
        if path is None:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM staged WHERE branch = ?", (branch,))
            db.execute("DELETE FROM intents WHERE branch = ?", (branch,))
            db.execute("COMMIT")
        elif path.endswith("/"):
            db.execute(
                "DELETE FROM staged WHERE branch = ? AND path >= ? AND path < ?",
                (branch, path, path + "\U0010ffff"),
            )
        else:
            db.execute("DELETE FROM staged WHERE branch = ? AND path = ?", (branch, path))

    def record_commit(
        self, commit_id: str, oid: str, *, branch: str | None = None, rows=None
    ) -> str | None:
        """Index a new commit id; with `branch` and the staged `rows` the commit takes, also
        write its intent row, in the same transaction. Returns the intent's stamps."""
        db = self._db()
        if branch is None:
            db.execute("INSERT OR IGNORE INTO commit_ids VALUES (?, ?)", (commit_id, oid))
            return None
        stamps = stamps_of(rows or ())
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT OR IGNORE INTO commit_ids VALUES (?, ?)", (commit_id, oid))
            db.execute("INSERT OR REPLACE INTO intents VALUES (?, ?, ?)", (branch, oid, stamps))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return stamps

    def commits_with_prefix(self, prefix: str, limit: int = 2) -> list[tuple[str, str]]:
        query = "SELECT id, oid FROM commit_ids WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
        return self._db().execute(query, (prefix, prefix + "g", limit)).fetchall()


def stamps_of(rows: Iterable[StagedRow]) -> str:
    """The write stamps of staged rows, as the JSON list `settle` takes."""
    return json.dumps(sorted({row[2] for row in rows}))
