"""Drive logs in, frames out: reading uploads defensively and building the frames table.

An upload is checked whole before anything is published, so one bad file keeps the whole
upload (one landing commit) off main: the fleet re-uploads it fixed.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
import pyarrow.parquet as pq

from quality.suites.fleet import prepare_drive_log
from resources.landing import LANDING_COMMIT_KEY, landing_is_newer, parquet_upload
from resources.layout import drive_path
from resources.tables import DRIVE_LOG, FRAMES, frame_id
from resources.versioning import NotFoundError, VersionedStore


@dataclass
class Upload:
    """The drive logs of one upload: readable ones prepared for validation, the rest named."""

    logs: dict[str, pl.DataFrame] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # drive id → why

    def table(self) -> pl.DataFrame:
        """Every readable log, prepared and stacked (mismatched types widen, so GX names them)."""
        prepared = [prepare_drive_log(log, drive) for drive, log in sorted(self.logs.items())]
        return pl.concat(prepared, how="diagonal_relaxed") if prepared else pl.DataFrame()


def read_drive_log(data: bytes, path: str) -> pl.DataFrame:
    """Parse an uploaded drive log; raises `UnreadableUploadError` (a ValueError) naming `path`
    when it is not a Parquet file we can read, never aborting on a corrupt one."""
    return parquet_upload(data, path)


def newer_on_main(
    store: VersionedStore, repo: str, main: str, drives: Iterable[str], landing: str
) -> dict[str, str]:
    """Drive → the landing commit of the upload main holds for it, for the drives whose
    published log came from a later upload than `landing`: publishing these would put an
    older upload back over a newer one when runs finish out of order."""
    newer = {}
    for drive in drives:
        try:
            theirs = store.stat(repo, main, drive_path(drive)).metadata.get(LANDING_COMMIT_KEY)
        except NotFoundError:
            continue
        if theirs and landing_is_newer(store, repo, theirs, landing):
            newer[drive] = theirs
    return newer


def conform_drive_log(log: pl.DataFrame) -> pl.DataFrame:
    """A validated log in exactly the DRIVE_LOG schema (column order, types)."""
    return log.select([pl.col(name).cast(dtype) for name, dtype in DRIVE_LOG.items()])


def frames_of(log: pl.DataFrame, path: str) -> pl.DataFrame:
    """The frames-table rows of one published drive log (everything but the pixels)."""
    drive_ids = log.get_column("drive_id").to_list()
    indexes = log.get_column("frame_index").to_list()
    return log.with_columns(
        pl.Series("frame_id", [frame_id(d, i) for d, i in zip(drive_ids, indexes, strict=True)]),
        pl.lit(path).alias("image_path"),
        pl.int_range(pl.len(), dtype=pl.Int32).alias("image_row"),
    ).select([pl.col(name).cast(dtype) for name, dtype in FRAMES.items()])


def metadata_columns() -> list[str]:
    return [name for name in DRIVE_LOG if name != "image"]


def parquet_row_count(data: bytes) -> int:
    return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
