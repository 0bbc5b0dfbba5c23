"""Per-drive tables in tests: write a fleet-wide table as the drive partitions the assets
write, and read one back across partitions."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from resources.layout import (
    CHALLENGER_PREFIX,
    EMBEDDINGS_PREFIX,
    FRAMES_PREFIX,
    PREDICTIONS_PREFIX,
    SIGNALS_PREFIX,
)
from resources.storage import drive_of_frame, scan_tables, table_bytes
from resources.versioning import VersionedStore

PREFIXES = {
    "frames": FRAMES_PREFIX,
    "predictions": PREDICTIONS_PREFIX,
    "embeddings": EMBEDDINGS_PREFIX,
    "challenger": CHALLENGER_PREFIX,
    "signals": SIGNALS_PREFIX,
}


def read_fleet(store: VersionedStore, repo: str, ref: str, table: str) -> pl.DataFrame:
    """A per-drive table (`frames`, `predictions`, …) across every drive at `ref`."""
    return scan_tables(store, repo, ref, PREFIXES[table], None).collect()


def per_drive(table: pl.DataFrame, path: Callable[[str], str]) -> dict[str, pl.DataFrame]:
    """`table` split by the drive of its frame ids: store path → rows."""
    drives = table.with_columns(
        pl.col("frame_id").map_elements(drive_of_frame, return_dtype=pl.String).alias("_drive")
    )
    return {
        path(drive): rows.drop("_drive")
        for (drive,), rows in drives.group_by(["_drive"], maintain_order=True)
    }


def put_per_drive(
    store: VersionedStore, repo: str, branch: str, table: pl.DataFrame, name: str
) -> None:
    prefix = PREFIXES[name]
    for path, rows in per_drive(table, lambda d: f"{prefix}{d}.parquet").items():
        store.put(repo, branch, path, table_bytes(rows))
