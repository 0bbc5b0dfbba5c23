"""Label Studio: a labeling config and tasks out, the JSON export back in.

Out: one task per frame (`data.image`, `data.frame_id`, and the request and slice it came
from) with the production model's boxes as `predictions` in `rectanglelabels` form, matching
`label_config()` (https://labelstud.io/guide/predictions, https://labelstud.io/tags/rectanglelabels).
In: the project's "JSON" export (https://labelstud.io/guide/export#JSON): per task, the latest
annotation that was not skipped or cancelled, its `rectanglelabels` results converted from
percent of the image to the frame's pixels (https://labelstud.io/guide/export#Units-of-image-annotations).
A task with no such annotation was not labeled and is left out of the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import polars as pl

from resources.interop.errors import InvalidRequestIdError, MalformedFileError
from resources.interop.geometry import clipped_box, number, to_percent
from resources.interop.records import (
    Box,
    LabeledFrame,
    LabelFile,
    check_labeled_at,
    check_request_id,
    frame_from_path,
    show,
)
from resources.tables import CLASSES

SOURCE = "label-studio"
FROM_NAME, TO_NAME = "label", "image"  # the control and object tag names of label_config()
LOCAL_FILES = "/data/local-files/?d="  # Label Studio's URL for files under its document root
COLORS = {"orange_cone": "#ff8c00", "green_cone": "#2e8b57"}
_EPOCH = datetime.min.replace(tzinfo=UTC)
MAX_LABELER = 200  # characters of a labeler's name or email


def label_config(classes: tuple[str, ...] = CLASSES) -> str:
    """The project's labeling config: one image, axis-aligned boxes of fleetloop's classes."""
    labels = "\n".join(
        f"    <Label value={quoteattr(c)} background={quoteattr(COLORS.get(c, '#1e90ff'))}/>"
        for c in classes
    )
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image" zoom="true" zoomControl="true"/>\n'
        f'  <RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}" canRotate="false">\n'
        f"{labels}\n"
        "  </RectangleLabels>\n"
        "</View>\n"
    )


def tasks(
    frames: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
    *,
    image_prefix: str,
    model_version: str = "production",
) -> list[dict[str, Any]]:
    """One task per row of `frames` (request rows with the frame's `width` and `height`), its
    image at `image_prefix` + `<frame_id>.png`; `predictions` (`PREDICTIONS` rows) pre-annotate."""
    predicted: dict[str, list[dict[str, Any]]] = {}
    if predictions is not None:
        for row in predictions.iter_rows(named=True):
            predicted.setdefault(row["frame_id"], []).append(row)
    out = []
    for row in frames.iter_rows(named=True):
        fid = row["frame_id"]
        task: dict[str, Any] = {
            "data": {
                "image": f"{image_prefix}{fid}.png",
                "frame_id": fid,
                "request_id": row["request_id"],
                "slice": row["slice"],
                "rank": row["rank"],
            }
        }
        if fid in predicted:
            task["predictions"] = [
                _prediction(fid, predicted[fid], row["width"], row["height"], model_version)
            ]
        out.append(task)
    return out


def _prediction(
    fid: str, rows: list[dict[str, Any]], width: int, height: int, model_version: str
) -> dict[str, Any]:
    results = [
        {
            "id": f"{fid}-p{i}",
            "type": "rectanglelabels",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                **to_percent((r["x0"], r["y0"], r["x1"], r["y1"]), width, height),
                "rotation": 0,
                "rectanglelabels": [r["cls"]],
            },
            "score": r["confidence"],
        }
        for i, r in enumerate(rows)
    ]
    score = sum(r["confidence"] for r in rows) / len(rows)
    return {"model_version": model_version, "score": score, "result": results}


def parse_export(
    data: Any, file: str, sizes: Mapping[str, tuple[int, int]], now: datetime | None = None
) -> LabelFile:
    """A JSON export (a list of tasks) as labeled frames; `sizes` are the fleet's frames
    (id → width, height). Annotation times must lie between 2000 and `now` (default: the
    clock) plus a small skew. Every problem is collected, then raised as `MalformedFileError`."""
    now = now or datetime.now(UTC)
    tasks_ = [data] if isinstance(data, dict) else data
    if not isinstance(tasks_, list):
        kind = type(data).__name__
        raise MalformedFileError(file, [f"expected a list of tasks (the JSON export), not {kind}"])
    labels, problems = LabelFile(SOURCE), []
    seen: dict[str, str] = {}
    requests: set[str] = set()
    for index, task in enumerate(tasks_):
        tid = show(task.get("id", f"#{index}")) if isinstance(task, dict) else f"#{index}"
        where = f"task {tid}"
        try:
            fid = _frame_of(task, sizes)
            where = f"{where} (frame {fid})"
            if fid in seen:
                raise ValueError(f"frame labeled again (first in {seen[fid]})")
            seen[fid] = where
            if (request_id := task["data"].get("request_id")) is not None:
                requests.add(_request_id(request_id))
            annotation = _latest(task.get("annotations", task.get("completions", [])))
            if annotation is not None:
                where = f"{where}, annotation {show(annotation.get('id', '?'))}"
                labeler, when = _labeler(annotation), _when(annotation, now)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if annotation is None:
            labels.skipped += 1
            continue
        boxes = _boxes(annotation, where, sizes[fid], problems)
        labels.frames.append(LabeledFrame(fid, boxes, labeler, when))
    if problems:
        raise MalformedFileError(file, problems)
    labels.request_id = requests.pop() if len(requests) == 1 else None
    return labels


def _frame_of(task: Any, sizes: Mapping[str, tuple[int, int]]) -> str:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        raise ValueError("no 'data' object (is this Label Studio's JSON export?)")
    fid = data.get("frame_id")
    if not isinstance(fid, str) and isinstance(data.get("image"), str):
        fid = frame_from_path(data["image"], sizes)
    if not isinstance(fid, str):
        raise ValueError("names no frame (neither data.frame_id nor data.image)")
    if fid not in sizes:
        raise ValueError(f"{show(fid)!r} is not a frame of the fleet")
    return fid


def _latest(annotations: Any) -> dict[str, Any] | None:
    """The newest annotation that was not skipped or cancelled (by `created_at`, then order)."""
    if not isinstance(annotations, list):
        raise ValueError("'annotations' is not a list")
    usable = []
    for index, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            raise ValueError(f"annotation #{index} is not a JSON object")
        if not (annotation.get("was_cancelled") or annotation.get("skipped")):
            usable.append((_time(annotation.get("created_at")) or _EPOCH, index, annotation))
    return max(usable, key=lambda item: item[:2])[2] if usable else None


def _boxes(
    annotation: dict[str, Any], where: str, size: tuple[int, int], problems: list[str]
) -> list[Box]:
    results = annotation.get("result") or []
    if not isinstance(results, list):
        problems.append(f"{where}: 'result' is not a list")
        return []
    boxes = []
    for index, result in enumerate(results):
        rid = show(result.get("id", f"#{index}")) if isinstance(result, dict) else f"#{index}"
        try:
            box = _box(result, *size)
        except ValueError as error:
            problems.append(f"{where}, result {rid}: {error}")
            continue
        if box is not None:
            boxes.append(box)
    return boxes


def _box(result: Any, width: int, height: int) -> Box | None:
    if not isinstance(result, dict):
        raise ValueError("not a JSON object")
    kind, value = result.get("type"), result.get("value")
    if not isinstance(value, dict):
        raise ValueError("no 'value' object")
    if kind != "rectanglelabels":
        if {"x", "y", "width", "height"} & value.keys():  # a region we would silently lose
            raise ValueError(
                f"a {show(kind)!r} region: draw boxes with the config's RectangleLabels"
            )
        return None  # other controls (choices, text areas) hold no box
    names = value.get("rectanglelabels")
    if not (isinstance(names, list) and len(names) == 1 and isinstance(names[0], str)):
        raise ValueError(f"value.rectanglelabels must hold exactly one class, not {show(names)}")
    if names[0] not in CLASSES:
        raise ValueError(f"unknown class {show(names[0])!r} (known: {', '.join(CLASSES)})")
    if number(value.get("rotation", 0), "value.rotation") != 0:
        raise ValueError("a rotated box: fleetloop boxes are axis-aligned (canRotate=false)")
    if number(result.get("image_rotation", 0), "image_rotation") != 0:
        raise ValueError("drawn on a rotated image: label the image unrotated")
    x, y, w, h = (number(value.get(k), f"value.{k}") for k in ("x", "y", "width", "height"))
    sx, sy = width / 100.0, height / 100.0
    return (*clipped_box(x * sx, y * sy, w * sx, h * sy, width, height), names[0])


def _request_id(value: Any) -> str:
    try:
        return check_request_id(value)
    except InvalidRequestIdError as error:
        raise ValueError(f"data.request_id: {error}") from None


def _labeler(annotation: dict[str, Any]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    if who is None or who == "":
        return None
    if isinstance(who, bool) or not isinstance(who, int | str):
        raise ValueError(f"completed_by must be a user id or email, not {show(who)}")
    name = str(who)
    if len(name) > MAX_LABELER or not name.isprintable():
        raise ValueError(f"completed_by {show(name)!r} is not a readable user name or email")
    return f"label-studio:{name}"


def _when(annotation: dict[str, Any], now: datetime) -> datetime | None:
    """When the annotation was last made (`updated_at`, else `created_at`), checked."""
    for key in ("updated_at", "created_at"):
        try:
            moment = _time(annotation.get(key))
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
        if moment is not None:
            try:
                return check_labeled_at(moment, now)
            except ValueError as error:
                raise ValueError(f"{key}: {error}") from None
    return None


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time as UTC (naive times are UTC), None when absent or not a time string;
    ValueError for a time that cannot be placed in UTC (year 1 minus an hour, 9999 plus one)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError(f"{show(value)!r} is out of the range of dates") from None
