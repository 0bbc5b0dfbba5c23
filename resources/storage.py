"""Tables in the versioned store: Parquet in, Parquet out, always at a resolved commit; the
frames table read across its drive partitions.

Assets resolve `main` to a commit id once and read everything at that id, so a run never mixes
two versions of the data even while other runs merge into main.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from resources.layout import FRAMES_PREFIX, frames_path
from resources.tables import FRAMES
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


def scan_tables(
    store: VersionedStore,
    repo: str,
    ref: str,
    prefix: str,
    schema: pl.Schema,
) -> pl.LazyFrame:
    """Every per-partition table under `prefix` at `ref` as one lazy frame (an empty frame of
    `schema` when there is none). On the embedded store the object files are scanned in place,
    so a filter or a column selection reads only what it needs; other backends are read file
    by file."""
    paths = list_paths(store, repo, ref, prefix, ".parquet")
    local = getattr(store, "local_path", None)
    parts = []
    for path in paths:
        file = local(repo, ref, path) if local is not None else None
        if file is not None:  # a large object: its file, scanned in place
            parts.append(pl.scan_parquet(str(file)))
        else:
            parts.append(read_table(store, repo, ref, path).lazy())
    if not parts:
        return pl.LazyFrame(schema=schema)
    return pl.concat(parts, how="vertical_relaxed")


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


def drive_of_frame(frame_id: str) -> str:
    return frame_id.rsplit("-", 1)[0]


def scan_frames(store: VersionedStore, repo: str, ref: str) -> pl.LazyFrame:
    """Every published frame at `ref`, as a lazy scan of the per-drive tables."""
    return scan_tables(store, repo, ref, FRAMES_PREFIX, FRAMES)


def frames_of_ids(
    store: VersionedStore,
    repo: str,
    ref: str,
    frame_ids: Iterable[str],
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The frames-table rows of `frame_ids` (those that exist at `ref`), reading only the
    partitions of their drives; sorted by frame id."""
    wanted = sorted(set(frame_ids))
    drives = sorted({drive_of_frame(f) for f in wanted})
    present = [d for d in drives if store.exists(repo, ref, frames_path(d))]
    cols = list(columns) if columns else list(FRAMES)
    if not present:
        return pl.DataFrame(schema={c: FRAMES[c] for c in cols})
    table = pl.concat([read_table(store, repo, ref, frames_path(d), cols) for d in present])
    return table.filter(pl.col("frame_id").is_in(wanted)).sort("frame_id")


def predictions_of_ids(
    store: VersionedStore, repo: str, ref: str, frame_ids: Iterable[str]
) -> pl.DataFrame | None:
    """The deployed model's fleet predictions of `frame_ids`, reading only their drives'
    partitions; None when no drive of theirs has been predicted yet."""
    from resources.layout import predictions_path

    wanted = sorted(set(frame_ids))
    drives = sorted({drive_of_frame(f) for f in wanted})
    present = [d for d in drives if store.exists(repo, ref, predictions_path(d))]
    if not present:
        return None
    table = pl.concat([read_table(store, repo, ref, predictions_path(d)) for d in present])
    return table.filter(pl.col("frame_id").is_in(wanted))


def request_infos(store: VersionedStore, repo: str, ref: str) -> dict[str, dict]:
    """Every labeling request's sidecar at `ref` (`labeling/requests/<id>.json`: the model
    that served, frames per slice, when it was made), by request id."""
    from resources.layout import REQUESTS_PREFIX

    return {
        path.rsplit("/", 1)[1].removesuffix(".json"): read_json(store, repo, ref, path)
        for path in list_paths(store, repo, ref, REQUESTS_PREFIX, ".json")
    }
