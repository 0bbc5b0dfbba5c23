"""COCO: the request as an object-detection dataset out, an annotation file back in.

The layout is COCO's object detection format (https://cocodataset.org/#format-data): `images`
(`id`, `file_name`, `width`, `height`), `categories` (`id`, `name`) and `annotations` (`bbox`
as `[x, y, width, height]` in pixels of the image listed, `category_id`, `area`, `iscrowd`).
Categories are matched by name, so any tool's ids work (Label Studio's COCO export counts from
0); an image is matched to its frame by file name (`images/<frame_id>.png`). Every image of
the file counts as labeled: one without annotations holds no cone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from resources.interop.errors import MalformedFileError
from resources.interop.geometry import clipped_box, number, to_xywh
from resources.interop.records import Box, LabeledFrame, LabelFile, frame_from_path, show
from resources.tables import CLASSES

SOURCE = "coco"
CATEGORY_IDS = {name: index + 1 for index, name in enumerate(CLASSES)}


def document(
    frames: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
    *,
    description: str = "",
    created: datetime | None = None,
    image_dir: str = "images",
) -> dict[str, Any]:
    """A COCO file for `frames` (request rows with `width`, `height`); `predictions`
    (`PREDICTIONS` rows) become annotations with a `score`, otherwise there are none."""
    image_ids = {fid: i + 1 for i, fid in enumerate(frames.get_column("frame_id").to_list())}
    images = [
        {
            "id": image_ids[row["frame_id"]],
            "file_name": f"{image_dir}/{row['frame_id']}.png",
            "width": row["width"],
            "height": row["height"],
        }
        for row in frames.iter_rows(named=True)
    ]
    annotations = []
    for row in (predictions if predictions is not None else pl.DataFrame()).iter_rows(named=True):
        x, y, w, h = to_xywh((row["x0"], row["y0"], row["x1"], row["y1"]))
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_ids[row["frame_id"]],
                "category_id": CATEGORY_IDS[row["cls"]],
                "bbox": [x, y, w, h],
                "area": w * h,
                "iscrowd": 0,
                "segmentation": [],
                "score": row["confidence"],
            }
        )
    return {
        "info": {
            "description": description,
            "version": "1.0",
            "year": (created or datetime.now()).year,
            "contributor": "fleetloop",
            "date_created": (created or datetime.now()).isoformat(),
        },
        "licenses": [],
        "images": images,
        "categories": [
            {"id": cid, "name": name, "supercategory": "cone"} for name, cid in CATEGORY_IDS.items()
        ],
        "annotations": annotations,
    }


def parse_document(data: Any, file: str, sizes: Mapping[str, tuple[int, int]]) -> LabelFile:
    """A COCO annotation file as labeled frames; `sizes` are the fleet's frames (id → width,
    height). Every problem is collected, then raised as `MalformedFileError`."""
    if not isinstance(data, dict):
        raise MalformedFileError(file, [f"expected a COCO object, not {type(data).__name__}"])
    missing = [
        k for k in ("images", "annotations", "categories") if not isinstance(data.get(k), list)
    ]
    if missing:
        raise MalformedFileError(file, [f"no {k!r} list (is this a COCO file?)" for k in missing])
    problems: list[str] = []
    categories = _categories(data["categories"], problems)
    images = _images(data["images"], sizes, problems)
    boxes: dict[int, list[Box]] = {image_id: [] for image_id in images}
    for index, annotation in enumerate(data["annotations"]):
        aid = (
            show(annotation.get("id", f"#{index}")) if isinstance(annotation, dict) else f"#{index}"
        )
        try:
            image_id, box = _annotation(annotation, images, categories, sizes)
        except ValueError as error:
            problems.append(f"annotation {aid}: {error}")
            continue
        boxes[image_id].append(box)
    if problems:
        raise MalformedFileError(file, problems)
    frames = [LabeledFrame(fid, boxes[image_id]) for image_id, (fid, _, _) in images.items()]
    return LabelFile(SOURCE, frames)


def _categories(items: list[Any], problems: list[str]) -> dict[int, str]:
    categories: dict[int, str] = {}
    for index, item in enumerate(items):
        cid = item.get("id") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(cid, int) or isinstance(cid, bool) or not isinstance(name, str):
            problems.append(f"category #{index}: needs an integer 'id' and a 'name'")
        elif len(name) > 100 or not name.isprintable():
            problems.append(f"category {show(cid)}: {show(name)!r} is not a class name")
        elif cid in categories:
            problems.append(f"category {show(cid)}: id used twice")
        else:
            categories[cid] = name
    return categories


def _images(
    items: list[Any], sizes: Mapping[str, tuple[int, int]], problems: list[str]
) -> dict[int, tuple[str, int, int]]:
    """image id → (frame id, width, height as the file states them)."""
    images: dict[int, tuple[str, int, int]] = {}
    frames: dict[str, int] = {}
    for index, item in enumerate(items):
        iid = item.get("id") if isinstance(item, dict) else None
        where = f"image {show(iid) if iid is not None else f'#{index}'}"
        if not isinstance(iid, int) or isinstance(iid, bool):
            problems.append(f"{where}: needs an integer 'id'")
            continue
        name = item.get("file_name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: needs a 'file_name'")
            continue
        fid = frame_from_path(name, sizes)
        where = f"{where} ({show(name)})"
        width, height = item.get("width"), item.get("height")
        if iid in images:
            problems.append(f"{where}: id used twice")
        elif fid not in sizes:
            problems.append(f"{where}: {show(fid)!r} is not a frame of the fleet")
        elif fid in frames:
            problems.append(f"{where}: frame {fid} listed again (first as image {frames[fid]})")
        elif not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)
        ):
            problems.append(f"{where}: needs positive integer 'width' and 'height'")
        else:
            images[iid] = (fid, width, height)
            frames[fid] = iid
    return images


def _annotation(
    annotation: Any,
    images: Mapping[int, tuple[str, int, int]],
    categories: Mapping[int, str],
    sizes: Mapping[str, tuple[int, int]],
) -> tuple[int, Box]:
    if not isinstance(annotation, dict):
        raise ValueError("not a JSON object")
    image_id, cid = annotation.get("image_id"), annotation.get("category_id")
    # Checked as integers first: a list or an object as an id cannot even be looked up.
    if not _is_id(image_id) or image_id not in images:
        raise ValueError(f"image_id {show(image_id)} is not an image of the file")
    if not _is_id(cid) or cid not in categories:
        raise ValueError(f"category_id {show(cid)} is not a category of the file")
    name = categories[cid]
    if name not in CLASSES:
        raise ValueError(f"unknown class {show(name)!r} (known: {', '.join(CLASSES)})")
    bbox = annotation.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise ValueError(f"bbox must be [x, y, width, height], not {show(bbox)}")
    x, y, w, h = (number(v, f"bbox[{i}]") for i, v in enumerate(bbox))
    fid, listed_w, listed_h = images[image_id]
    # Pixels of the image the file lists; a tool that resized it gets scaled back to the frame.
    width, height = sizes[fid]
    sx, sy = width / listed_w, height / listed_h
    return image_id, (*clipped_box(x * sx, y * sy, w * sx, h * sy, width, height), name)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
