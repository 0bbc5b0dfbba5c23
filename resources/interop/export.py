"""A labeling request as files a labeling team can open: Label Studio tasks, COCO, PNGs.

Everything is read at one commit of the ref: the request (`labeling/requests/<id>.parquet`),
the frames table, the drive logs holding the pixels and, when the production model has run
over the fleet, its predictions. The folder gets `images/<frame_id>.png`, the chosen formats
and a `request.json` that says what the request is and how to send the labels back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from resources.interop import coco, label_studio
from resources.interop.errors import InteropError, RequestNotFoundError
from resources.interop.records import check_request_id
from resources.layout import FRAMES_PREFIX, request_path
from resources.storage import frames_of_ids, predictions_of_ids, read_table
from resources.tables import CLASSES, LABEL_REQUEST, PREDICTIONS, conform
from resources.versioning import NotFoundError, VersionedStore

FORMATS = ("label-studio", "coco")
TASKS_FILE, CONFIG_FILE, COCO_FILE = "tasks.json", "label_config.xml", "coco.json"
MANIFEST_FILE, IMAGES_DIR = "request.json", "images"
MIN_SCORE = 0.5  # the operating point the evaluation reports precision and recall at


@dataclass(frozen=True)
class ExportResult:
    request_id: str
    directory: Path
    commit: str  # the store commit everything was read at
    frames: int
    predictions: int  # predicted boxes written, over all formats' pre-annotations
    files: list[str]  # written, relative to `directory`, images summarized as `images/`


def export_request(
    store: VersionedStore,
    repo: str,
    request_id: str,
    out_dir: Path | str,
    *,
    formats: Sequence[str] = FORMATS,
    ref: str = "main",
    request: pl.DataFrame | None = None,
    image_prefix: str | None = None,
    predictions: bool | None = None,
    min_score: float = MIN_SCORE,
) -> ExportResult:
    """Write request `request_id` into `out_dir` in `formats`. `image_prefix` is what the
    tasks' `data.image` puts before `<frame_id>.png` (default: Label Studio's local-files URL of
    `images/`, with the folder as its document root). Predictions at or above `min_score`
    pre-annotate the Label Studio tasks; COCO gets them only when `predictions` is True, since
    COCO has no place for them apart from the labels."""
    check_request_id(request_id)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise InteropError(f"unknown export format(s) {unknown}: use {', '.join(FORMATS)}")
    commit = store.resolve(repo, ref)
    frames = request_frames(store, repo, commit, request_id, request)
    boxes = fleet_predictions(store, repo, commit, frames["frame_id"], min_score)
    out = Path(out_dir)
    write_images(store, repo, commit, frames, out / IMAGES_DIR)
    files, written = [f"{IMAGES_DIR}/"], 0
    if "label-studio" in formats:
        ls_boxes = boxes if predictions is not False else boxes.clear()
        prefix = image_prefix if image_prefix is not None else f"{label_studio.LOCAL_FILES}images/"
        tasks = label_studio.tasks(frames, ls_boxes, image_prefix=prefix)
        _write(out / TASKS_FILE, _json(tasks))
        _write(out / CONFIG_FILE, label_studio.label_config().encode())
        files += [TASKS_FILE, CONFIG_FILE]
        written += ls_boxes.height
    if "coco" in formats:
        coco_boxes = boxes if predictions else boxes.clear()
        created = store.get_commit(repo, commit).created_at
        description = f"fleetloop labeling request {request_id}"
        document = coco.document(frames, coco_boxes, description=description, created=created)
        _write(out / COCO_FILE, _json(document))
        files.append(COCO_FILE)
        written += coco_boxes.height
    manifest = _manifest(repo, commit, request_id, frames, formats)
    _write(out / MANIFEST_FILE, _json(manifest))
    files.append(MANIFEST_FILE)
    return ExportResult(request_id, out, commit, frames.height, written, files)


def request_frames(
    store: VersionedStore,
    repo: str,
    commit: str,
    request_id: str,
    request: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The request's rows, best first, with each frame's size and where its pixels are."""
    if request is None:
        try:
            request = read_table(store, repo, commit, request_path(request_id))
        except NotFoundError:
            raise RequestNotFoundError(
                f"no labeling request {request_id!r} at {commit[:12]} of {repo!r} "
                f"({request_path(request_id)} is missing)"
            ) from None
    rows = conform(request, LABEL_REQUEST).sort("rank")
    fleet = frames_of_ids(
        store,
        repo,
        commit,
        rows.get_column("frame_id").to_list(),
        ["frame_id", "width", "height", "image_path", "image_row"],
    )
    frames = rows.join(fleet, on="frame_id", how="left", maintain_order="left")
    missing = frames.filter(pl.col("image_path").is_null())["frame_id"].to_list()
    if missing:
        raise InteropError(
            f"request {request_id!r} names {len(missing)} frame(s) not in {FRAMES_PREFIX}: "
            f"{', '.join(missing[:5])}"
        )
    return frames


def fleet_predictions(
    store: VersionedStore, repo: str, commit: str, frame_ids: pl.Series, min_score: float
) -> pl.DataFrame:
    """The production model's boxes on these frames at or above `min_score` (none when the
    model has not run over the fleet yet)."""
    table = predictions_of_ids(store, repo, commit, frame_ids.to_list())
    if table is None:
        return pl.DataFrame(schema=PREDICTIONS)
    return conform(table, PREDICTIONS).filter(pl.col("confidence") >= min_score)


def write_images(
    store: VersionedStore, repo: str, commit: str, frames: pl.DataFrame, directory: Path
) -> None:
    """`directory/<frame_id>.png` for every frame, read from the drive logs holding them."""
    directory.mkdir(parents=True, exist_ok=True)
    for (path,), group in frames.group_by(["image_path"], maintain_order=True):
        pngs = read_table(store, repo, commit, path, ["image"]).get_column("image")
        for fid, row in group.select("frame_id", "image_row").iter_rows():
            _write(directory / f"{fid}.png", pngs[row])


def _manifest(
    repo: str, commit: str, request_id: str, frames: pl.DataFrame, formats: Sequence[str]
) -> dict[str, Any]:
    per_slice = dict(frames.group_by("slice").len().sort("slice").rows())
    fmt = "label-studio" if "label-studio" in formats else "coco"
    answer = "<Label Studio JSON export>" if fmt == "label-studio" else "<COCO annotation file>"
    return {
        "request_id": request_id,
        "frames": frames.height,
        "slices": per_slice,
        "classes": list(CLASSES),
        "source": {"repository": repo, "commit": commit},
        "files": {
            "images": f"{IMAGES_DIR}/<frame_id>.png",
            **({"label_studio_tasks": TASKS_FILE} if "label-studio" in formats else {}),
            **({"label_studio_config": CONFIG_FILE} if "label-studio" in formats else {}),
            **({"coco": COCO_FILE} if "coco" in formats else {}),
        },
        "return_labels": (
            f"fleetloop labels import {answer} --format {fmt} "
            f"--batch-id <new batch id> --request-id {request_id} --labeler <team>"
        ),
    }


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def _write(path: Path, data: bytes) -> None:
    """Atomic: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
