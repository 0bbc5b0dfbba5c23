"""Tables in the versioned store: Parquet in, Parquet out, always at a resolved commit.

Assets resolve `main` to a commit id once and read everything at that id, so a run never mixes
two versions of the data even while other runs merge into main.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from resources.versioning import ObjectStat, VersionedStore

PARQUET = "application/vnd.apache.parquet"
JSON = "application/json"


def read_table(
    store: VersionedStore, repo: str, ref: str, path: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    local = getattr(store, "local_path", None)
    file = local(repo, ref, path) if local is not None else None
    if file is not None:  # the embedded store's object file: read in place, no copy
        return pl.read_parquet(file, columns=list(columns) if columns else None)
    with store.open_reader(repo, ref, path) as reader:
        return pl.read_parquet(
            io.BytesIO(reader.read()), columns=list(columns) if columns else None
        )


def read_tables(
    store: VersionedStore,
    repo: str,
    ref: str,
    paths: Sequence[str],
    schema: pl.Schema,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The concatenation of several tables (an empty table of `schema` when there are none)."""
    wanted = list(columns) if columns else list(schema)
    frames = [read_table(store, repo, ref, p, wanted) for p in paths]
    if not frames:
        return pl.DataFrame(schema={c: schema[c] for c in wanted})
    return pl.concat(frames, how="vertical_relaxed")


def table_bytes(df: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()


def read_json(store: VersionedStore, repo: str, ref: str, path: str) -> Any:
    return json.loads(store.get(repo, ref, path))


def list_paths(
    store: VersionedStore, repo: str, ref: str, prefix: str, suffix: str = ""
) -> list[str]:
    return [
        entry.path
        for entry in store.list_objects(repo, ref, prefix)
        if isinstance(entry, ObjectStat) and entry.path.endswith(suffix)
    ]
