"""Box pairs within a frame (or between two frames), for signals that compare two box tables:
two models, two moments of a drive, labels and predictions."""

from __future__ import annotations

import polars as pl

from assets.evaluation.metrics import box_iou


def overlaps(
    a: pl.DataFrame, b: pl.DataFrame, *, on: str | list[str] = "frame_id", min_iou: float = 0.0
) -> pl.DataFrame:
    """Every pair (row of `a`, row of `b`) with the same `on` key and IoU > `min_iou` (or >= it
    when it is positive): `a`'s columns, `b`'s suffixed `_b`, and `iou`. Rows of `a` must carry
    a row index `a` (see `with_row_index`) for callers to aggregate per box."""
    pairs = a.join(b, on=on, suffix="_b").with_columns(box_iou("_b").alias("iou"))
    keep = pl.col("iou") >= min_iou if min_iou > 0 else pl.col("iou") > 0
    return pairs.filter(keep)
