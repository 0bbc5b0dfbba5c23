"""A labeling tool's file in, a label batch on the landing branch out.

The file (at most `MAX_FILE_BYTES`, nested at most `MAX_DEPTH` deep) is read whole and checked
against the fleet on the ref (every frame known, every box inside its frame, request ids of the
queue's form, label times between 2000 and now) before anything is written; then the batch
goes to the landing branch exactly like the simulated labelers' (`upload_label_batch`), and the
`label_batch_sensor` → `label_sets` path validates it with the GX suites and publishes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from resources.interop import coco, label_studio
from resources.interop.errors import (
    BatchRejectedError,
    InteropError,
    MalformedFileError,
    RequestNotFoundError,
)
from resources.interop.records import LabelFile, check_request_id
from resources.landing import LABEL_UPLOADS, LANDING_BRANCH, upload_label_batch
from resources.layout import FRAMES_PREFIX, label_paths, request_path
from resources.storage import scan_frames
from resources.tables import BOXES, LABELED_FRAMES, conform
from resources.versioning import NotFoundError, VersionedStore

PARSERS = {label_studio.SOURCE: label_studio.parse_export, coco.SOURCE: coco.parse_document}
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_FILE_BYTES = 64 * 1024 * 1024  # a Label Studio export of ~30,000 tasks; split bigger ones
MAX_DEPTH = 32  # a Label Studio export nests 10 deep, a COCO file 5
EXPORT_AGAIN = "export it again from the labeling tool"


@dataclass(frozen=True)
class ImportResult:
    batch_id: str
    source: str
    request_id: str | None
    labeler: str
    frames: int  # labeled frames (with or without boxes)
    boxes: int
    skipped: int  # tasks without a usable annotation, left out
    duplicates: int  # boxes drawn twice on a frame, kept once
    commit: str  # the landing commit holding the batch


def read_label_file(
    path: Path | str,
    fmt: str,
    sizes: dict[str, tuple[int, int]],
    now: datetime | None = None,
) -> LabelFile:
    """Parse a Label Studio JSON export or a COCO file against the fleet's frame `sizes`;
    every way the file can be wrong is a `MalformedFileError` naming it."""
    if fmt not in PARSERS:
        raise InteropError(f"unknown label format {fmt!r}: use {', '.join(PARSERS)}")
    name = str(path)
    data = _json_document(Path(path), name)
    if fmt == label_studio.SOURCE:
        return label_studio.parse_export(data, name, sizes, now)
    return coco.parse_document(data, name, sizes)


def _json_document(path: Path, name: str) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MalformedFileError(
                name,
                [
                    f"{size:,} bytes, more than the {MAX_FILE_BYTES:,} a label file may have: "
                    "export the tasks in parts and import each as its own batch"
                ],
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MalformedFileError(name, [f"cannot be read as UTF-8 text ({error})"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise MalformedFileError(
            name, [f"{where}: not valid JSON ({error.msg}): {EXPORT_AGAIN}"]
        ) from None
    except RecursionError:
        raise MalformedFileError(
            name, [f"nested deeper than the JSON parser follows: {EXPORT_AGAIN}"]
        ) from None
    except ValueError as error:  # an integer longer than Python converts (4,300 digits)
        raise MalformedFileError(name, [f"{error}: {EXPORT_AGAIN}"]) from None
    if _depth(data) > MAX_DEPTH:
        raise MalformedFileError(name, [f"nested more than {MAX_DEPTH} deep: {EXPORT_AGAIN}"])
    return data


def _depth(data: Any) -> int:
    """How deep lists and objects nest in `data` (up to one past `MAX_DEPTH`), without
    recursion: the document could be nested as deep as the parser allows."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, list | dict):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return deepest


def batch_tables(
    labels: LabelFile, batch_id: str, labeler: str | None, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """`LABELED_FRAMES` and `BOXES` of the batch, and how many repeated boxes were dropped (a
    box drawn twice is one box; the label_batch suite refuses repeats)."""
    frames = pl.DataFrame(
        {
            "frame_id": [f.frame_id for f in labels.frames],
            "batch_id": [batch_id] * len(labels.frames),
            "labeler": [labeler or f.labeler or labels.source for f in labels.frames],
            "labeled_at": [f.labeled_at or now for f in labels.frames],
        },
        schema=LABELED_FRAMES,
    )
    rows = [(f.frame_id, *box) for f in labels.frames for box in f.boxes]
    boxes = conform(pl.DataFrame(rows, schema=list(BOXES), orient="row"), BOXES)
    unique = boxes.unique(maintain_order=True)
    return frames, unique, boxes.height - unique.height


def import_labels(
    store: VersionedStore,
    repo: str,
    path: Path | str,
    fmt: str,
    batch_id: str,
    *,
    request_id: str | None = None,
    labeler: str | None = None,
    ref: str = "main",
    now: datetime | None = None,
) -> ImportResult:
    """Land the labels of `path` (`fmt`: "label-studio" or "coco") as batch `batch_id`.
    `request_id` defaults to the one the Label Studio tasks carry; `labeler` to whoever the
    file names (else the tool). Raises before writing anything when the file is bad."""
    check_batch_id(store, repo, batch_id, ref)
    if request_id is not None:
        check_request_id(request_id)
    now = now or datetime.now(UTC)
    commit = store.resolve(repo, ref)
    fleet = scan_frames(store, repo, commit).select("frame_id", "width", "height").collect()
    if fleet.is_empty():
        raise InteropError(
            f"no frames under {FRAMES_PREFIX} on {ref!r} of {repo!r}: ingest the fleet first"
        )
    sizes = {fid: (w, h) for fid, w, h in fleet.iter_rows()}
    labels = read_label_file(path, fmt, sizes, now)
    if not labels.boxes:
        raise MalformedFileError(
            str(path),
            [
                f"no box in {len(labels.frames)} labeled frame(s) ({labels.skipped} skipped): "
                "a label batch needs at least one box"
            ],
        )
    request_id = request_id or labels.request_id
    if request_id and not store.exists(repo, commit, request_path(check_request_id(request_id))):
        raise RequestNotFoundError(
            f"no labeling request {request_id!r} on {ref!r} ({request_path(request_id)})"
        )
    try:
        frames, boxes, duplicates = batch_tables(labels, batch_id, labeler, now)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as error:
        # A panic is a BaseException; either way the file's values would not make a table.
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise MalformedFileError(
            str(path), [f"its labels do not make a table ({type(error).__name__}: {first})"]
        ) from None
    names = set(frames["labeler"].to_list())
    team = labeler or (names.pop() if len(names) == 1 else labels.source)
    info = {"source": labels.source, "labeler": team, "file": Path(path).name}
    if request_id:
        info["request_id"] = request_id
    landed = upload_label_batch(store, repo, batch_id, frames, boxes, info)
    return ImportResult(
        batch_id,
        labels.source,
        request_id,
        team,
        frames.height,
        boxes.height,
        labels.skipped,
        duplicates,
        landed,
    )


def check_batch_id(store: VersionedStore, repo: str, batch_id: str, ref: str = "main") -> None:
    """A batch id is a new name: usable as a partition key and a store path, never landed."""
    if not _BATCH_ID.fullmatch(batch_id):
        raise BatchRejectedError(
            f"{batch_id[:100]!r} is not a batch id: letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, at most 100 characters"
        )
    landed = f"{LABEL_UPLOADS}{batch_id}/batch.json"
    for where, path in ((LANDING_BRANCH, landed), (ref, label_paths(batch_id)["batch"])):
        try:
            taken = store.exists(repo, where, path)
        except NotFoundError:  # no landing branch yet
            taken = False
        if taken:
            raise BatchRejectedError(
                f"batch {batch_id!r} already exists ({path} on {where!r}): choose a new --batch-id"
            )
