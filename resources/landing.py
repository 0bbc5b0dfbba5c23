"""The landing branch: where the outside world (fleet uploads, labeling teams) drops data.

Nothing external writes to main. Uploads are committed to `landing` under `uploads/`; sensors
read what arrived since the last commit they handled (their cursor) and request the assets
that validate the files and publish them to main.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from resources.storage import JSON, PARQUET, json_bytes, table_bytes
from resources.versioning import ChangeType, NotFoundError, ObjectStat, VersionedStore

LANDING_BRANCH = "landing"
LANDING_COMMIT_TAG = "fleetloop/landing_commit"  # run tag: the landing commit a run reads
LANDING_COMMIT_KEY = "landing_commit"  # object metadata: the upload a published file came from
DRIVE_UPLOADS = "uploads/drives/"
LABEL_UPLOADS = "uploads/labels/"
# An upload is read whole and handed to GX as pandas with its image bytes, so its size is
# capped before a byte of it is read: stored size and decoded size both.
MAX_UPLOAD_ENV = "FLEETLOOP_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 256


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


def landing_is_newer(store: VersionedStore, repository: str, commit: str, than: str) -> bool:
    """Whether landing commit `commit` is a later upload than `than` (descends from it), so
    what it holds replaces what `than` held; the walk stops at commits older than `than`."""
    if commit == than:
        return False
    floor = store.get_commit(repository, than).created_at
    for entry in store.log(repository, commit):
        if entry.id == than:
            return True
        if entry.created_at < floor:
            return False
    return False


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


class UnreadableUploadError(ValueError):
    """An uploaded file that is too large or not a Parquet file we can read; one line that
    names the file and what to do."""


def max_upload_bytes() -> int:
    """The upload cap, `$FLEETLOOP_MAX_UPLOAD_MB` (default 256) megabytes."""
    raw = os.environ.get(MAX_UPLOAD_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = -1.0
    if not megabytes > 0 or megabytes == float("inf"):
        raise ValueError(f"{MAX_UPLOAD_ENV}={raw!r} is not a size: give megabytes, e.g. 256")
    return int(megabytes * 1024 * 1024)


def read_upload(store: VersionedStore, repository: str, ref: str, path: str) -> bytes:
    """The bytes of an uploaded file, refused by its stored size before any is read when it
    is over the upload cap."""
    cap = max_upload_bytes()
    size = store.stat(repository, ref, path).size
    if size > cap:
        raise UnreadableUploadError(
            f"{path}: {size} bytes, over the upload cap of {_megabytes(cap)} "
            f"({MAX_UPLOAD_ENV}); split it into smaller files or raise the cap"
        )
    return store.get(repository, ref, path)


def read_parquet_upload(
    store: VersionedStore, repository: str, ref: str, path: str
) -> pl.DataFrame:
    """An uploaded Parquet file as a table: size-capped, then read defensively."""
    return parquet_upload(read_upload(store, repository, ref, path), path)


def parquet_upload(data: bytes, path: str) -> pl.DataFrame:
    """An uploaded Parquet file as a table, read through pyarrow after its footer is checked
    against the file's own size (polars trusts a corrupt footer's sizes and can abort the
    process allocating them); anything wrong is one `UnreadableUploadError` naming `path`."""
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        _check_footer(parquet.metadata, len(data), path)
        return pl.from_arrow(parquet.read())
    except UnreadableUploadError:
        raise
    except (Exception, pl.exceptions.PanicException) as error:  # a panic is a BaseException
        text = str(error).strip()
        first = text.splitlines()[0][:200] if text else ""
        raise UnreadableUploadError(
            f"{path}: not a readable Parquet file ({type(error).__name__}: {first}); "
            "upload it again"
        ) from None


def _check_footer(metadata: pq.FileMetaData, file_size: int, path: str) -> None:
    """Every column chunk lies inside the file, and the decoded size is within the cap."""
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    if not 0 <= metadata.num_rows < 2**32 or metadata.num_rows != sum(g.num_rows for g in groups):
        raise pa.ArrowInvalid(f"the footer's row count {metadata.num_rows} is not its groups'")
    decoded = 0
    for g, group in enumerate(groups):
        for c in range(group.num_columns):
            chunk = group.column(c)
            flat = metadata.schema.column(c).max_repetition_level == 0
            if chunk.num_values < 0 or (flat and chunk.num_values != group.num_rows):
                raise pa.ArrowInvalid(f"column chunk {g}/{c} claims {chunk.num_values} values")
            start = chunk.dictionary_page_offset or chunk.data_page_offset  # the first page
            if not 0 <= start <= start + chunk.total_compressed_size <= file_size:
                raise pa.ArrowInvalid(f"column chunk {g}/{c} lies outside the file")
            decoded += max(chunk.total_uncompressed_size, 0)
    cap = max_upload_bytes()
    if decoded > cap:
        raise UnreadableUploadError(
            f"{path}: decodes to {decoded} bytes, over the upload cap of {_megabytes(cap)} "
            f"({MAX_UPLOAD_ENV}); split it into smaller files or raise the cap"
        )


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
