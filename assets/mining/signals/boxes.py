"""Box pairs within a frame (or between two frames), for signals that compare two box tables:
two models, two moments of a drive, labels and predictions."""

from __future__ import annotations

import polars as pl

CORNERS = ("x0", "y0", "x1", "y1")


def iou(suffix: str, base: str = "") -> pl.Expr:
    """IoU of the boxes (x0<base>, …) and (x0<suffix>, …) of each row of a joined table."""
    a0, b0, a1, b1 = (pl.col(f"{c}{base}") for c in CORNERS)
    x0, y0, x1, y1 = (pl.col(f"{c}{suffix}") for c in CORNERS)
    w = pl.min_horizontal(a1, x1) - pl.max_horizontal(a0, x0)
    h = pl.min_horizontal(b1, y1) - pl.max_horizontal(b0, y0)
    inter = w.clip(lower_bound=0) * h.clip(lower_bound=0)
    union = (a1 - a0) * (b1 - b0) + (x1 - x0) * (y1 - y0) - inter
    return pl.when(union > 0).then(inter / union).otherwise(0.0)


def overlaps(
    a: pl.DataFrame, b: pl.DataFrame, *, on: str | list[str] = "frame_id", min_iou: float = 0.0
) -> pl.DataFrame:
    """Every pair (row of `a`, row of `b`) with the same `on` key and IoU > `min_iou` (or >= it
    when it is positive): `a`'s columns, `b`'s suffixed `_b`, and `iou`. Rows of `a` must carry
    a row index `a` (see `with_row_index`) for callers to aggregate per box."""
    pairs = a.join(b, on=on, suffix="_b").with_columns(iou("_b").alias("iou"))
    keep = pl.col("iou") >= min_iou if min_iou > 0 else pl.col("iou") > 0
    return pairs.filter(keep)
