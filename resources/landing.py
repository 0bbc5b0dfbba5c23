"""The landing branch: where the outside world (fleet uploads, labeling teams) drops data.

Nothing external writes to main. Uploads are committed to `landing` under `uploads/`; sensors
read what arrived since the last commit they handled (their cursor) and request the assets
that validate the files and publish them to main.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from resources.storage import JSON, PARQUET, json_bytes, table_bytes
from resources.versioning import ChangeType, NotFoundError, ObjectStat, VersionedStore

LANDING_BRANCH = "landing"
LANDING_COMMIT_TAG = "fleetloop/landing_commit"  # run tag: the landing commit a run reads
DRIVE_UPLOADS = "uploads/drives/"
LABEL_UPLOADS = "uploads/labels/"


def ensure_landing(store: VersionedStore, repository: str, main: str = "main") -> str:
    return store.create_branch(repository, LANDING_BRANCH, main, exist_ok=True).commit_id


@dataclass(frozen=True)
class Arrivals:
    paths: list[str]  # files added or replaced since the cursor, sorted
    head: str  # the landing commit they were read at: the sensor's next cursor


def arrivals_since(
    store: VersionedStore, repository: str, cursor: str | None, prefix: str
) -> Arrivals:
    """Files under `prefix` on the landing branch committed after commit `cursor`."""
    head = store.get_branch(repository, LANDING_BRANCH).commit_id
    if cursor == head:
        return Arrivals([], head)
    if cursor is None:
        paths = [
            entry.path
            for entry in store.list_objects(repository, head, prefix)
            if isinstance(entry, ObjectStat)
        ]
    else:
        try:
            changes = store.diff(repository, cursor, head, prefix=prefix, two_dot=True)
        except NotFoundError:  # a cursor that no longer resolves (a reset or recreated branch)
            return arrivals_since(store, repository, None, prefix)
        paths = [c.path for c in changes if c.type is not ChangeType.REMOVED]
    return Arrivals(sorted(paths), head)


def content_key(store: VersionedStore, repository: str, ref: str, paths: list[str]) -> str:
    """A short digest of what `paths` hold at `ref` (their checksums): a run key that names
    the content, so the same files launch one run however often they are seen, and a fixed
    re-upload launches another."""
    parts = sorted(f"{p}:{store.stat(repository, ref, p).checksum}" for p in paths)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def upload_name(path: str, prefix: str) -> str:
    """`uploads/drives/d0007.parquet` → `d0007` (the partition key)."""
    return path[len(prefix) :].rsplit(".", 1)[0]


def upload_drives(
    store: VersionedStore,
    repo: str,
    logs: dict[str, bytes | pl.DataFrame],
    *,
    message: str = "fleet upload",
) -> str:
    """Commit drive logs (id → Parquet bytes or table) to the landing branch in one commit."""
    ensure_landing(store, repo)
    with store.transact(repo, LANDING_BRANCH, message, metadata={"drives": str(len(logs))}) as txn:
        for drive_id, log in sorted(logs.items()):
            data = log if isinstance(log, bytes) else table_bytes(log)
            store.put(repo, txn, f"{DRIVE_UPLOADS}{drive_id}.parquet", data, content_type=PARQUET)
    return store.get_branch(repo, LANDING_BRANCH).commit_id


def upload_label_batch(
    store: VersionedStore,
    repo: str,
    batch_id: str,
    frames: pl.DataFrame,
    boxes: pl.DataFrame,
    info: dict[str, str],
) -> str:
    """Commit one label batch (`uploads/labels/<batch>/…`) to the landing branch."""
    ensure_landing(store, repo)
    base = f"{LABEL_UPLOADS}{batch_id}/"
    with store.transact(repo, LANDING_BRANCH, f"label batch {batch_id}", metadata=info) as txn:
        store.put(repo, txn, f"{base}frames.parquet", table_bytes(frames), content_type=PARQUET)
        store.put(repo, txn, f"{base}boxes.parquet", table_bytes(boxes), content_type=PARQUET)
        store.put(repo, txn, f"{base}batch.json", json_bytes(info), content_type=JSON)
    return store.get_branch(repo, LANDING_BRANCH).commit_id
