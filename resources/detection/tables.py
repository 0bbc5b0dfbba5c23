"""Between the shared tables and the detector: PNG column → image array, label boxes → target
arrays, detections → a `PREDICTIONS` table."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
from PIL import Image

from resources.detection.interface import Detections
from resources.tables import PREDICTIONS, conform


def decode_images(pngs: Iterable[bytes]) -> np.ndarray:
    """PNG bytes (e.g. a drive log's `image` column) → (N, H, W, 3) uint8."""
    images = [np.asarray(Image.open(io.BytesIO(png)).convert("RGB")) for png in pngs]
    if not images:
        return np.zeros((0, 0, 0, 3), np.uint8)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise ValueError(f"images differ in size: {sorted(shapes)}")
    return np.stack(images)


def targets_from_boxes(
    frame_ids: Sequence[str], boxes: pl.DataFrame, classes: Sequence[str]
) -> list[np.ndarray]:
    """One (k, 5) float32 array (x0, y0, x1, y1, class index) per frame, in `frame_ids` order;
    frames without boxes get an empty array (a true negative). Boxes of other classes or other
    frames are ignored."""
    index = {c: i for i, c in enumerate(classes)}
    wanted = boxes.filter(
        pl.col("frame_id").is_in(list(frame_ids)) & pl.col("cls").is_in(list(classes))
    )
    by_frame: dict[str, list[tuple]] = {}
    for fid, x0, y0, x1, y1, cls in wanted.select(
        "frame_id", "x0", "y0", "x1", "y1", "cls"
    ).iter_rows():
        by_frame.setdefault(fid, []).append((x0, y0, x1, y1, index[cls]))
    return [np.array(by_frame.get(fid, []), np.float32).reshape(-1, 5) for fid in frame_ids]


def predictions_table(
    frame_ids: Sequence[str], detections: Sequence[Detections], classes: Sequence[str]
) -> pl.DataFrame:
    """Detections per frame → `PREDICTIONS` rows (frames without detections have no row)."""
    if len(frame_ids) != len(detections):
        raise ValueError(f"{len(frame_ids)} frame ids but {len(detections)} detections")
    names = np.array(list(classes), dtype=object)
    counts = [len(d) for d in detections]
    boxes = np.concatenate([d.boxes.reshape(-1, 4) for d in detections] or [np.zeros((0, 4))])
    table = pl.DataFrame(
        {
            "frame_id": np.repeat(np.array(list(frame_ids), dtype=object), counts).tolist(),
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "cls": names[
                np.concatenate([d.classes for d in detections] or [[]]).astype(int)
            ].tolist(),
            "confidence": np.concatenate([d.scores for d in detections] or [[]]),
        },
        schema_overrides={"frame_id": pl.String, "cls": pl.String},
    )
    return conform(table, PREDICTIONS)
