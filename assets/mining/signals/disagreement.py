"""Disagreement: two differently trained detectors look at the same frame and do not agree.

Each detection of either model is compared with the other model's best-overlapping detection
of the same class; the first one's confidence minus the second's is how much they disagree
about that object (a box one model finds and the other does not counts its full confidence; a
class flip counts on both classes). A frame's score is the sum over its detections: frames
where the production model is unsure of several objects, or plainly contradicted, come first.
Both prediction tables should keep low-confidence detections (the fleet's do, down to 0.05),
so that "the other model barely saw it" is not mistaken for "did not see it at all".
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from assets.evaluation.metrics import CORNERS
from assets.mining.signals.boxes import overlaps
from assets.mining.signals.scores import per_frame


def disagreement(
    pred_a: pl.DataFrame,
    pred_b: pl.DataFrame,
    frame_ids: Sequence[str] | None = None,
    *,
    min_confidence: float = 0.25,
    iou: float = 0.3,
) -> pl.DataFrame:
    """(frame_id, score): the summed one-sided disagreement of both models' detections at or
    above `min_confidence`. Without `frame_ids`, the frames where either model detected
    something."""
    events = disagreements(pred_a, pred_b, min_confidence=min_confidence, iou=iou)
    scores = events.group_by("frame_id").agg(pl.col("weight").sum().alias("score"))
    if frame_ids is None:
        frame_ids = pl.concat([pred_a["frame_id"], pred_b["frame_id"]]).unique().sort().to_list()
    return per_frame(scores, frame_ids)


def disagreements(
    pred_a: pl.DataFrame, pred_b: pl.DataFrame, *, min_confidence: float = 0.25, iou: float = 0.3
) -> pl.DataFrame:
    """The detections behind `disagreement`: frame_id, model (a | b), cls, box, confidence,
    the other model's confidence there (`other`, 0 when it saw nothing) and the weight."""
    return pl.concat(
        [
            _one_sided(pred_a, pred_b, "a", min_confidence, iou),
            _one_sided(pred_b, pred_a, "b", min_confidence, iou),
        ]
    ).sort(["frame_id", "weight"], descending=[False, True])


def _one_sided(
    mine: pl.DataFrame, theirs: pl.DataFrame, name: str, min_confidence: float, iou: float
) -> pl.DataFrame:
    boxes = (
        mine.filter(pl.col("confidence") >= min_confidence)
        .select("frame_id", "cls", *CORNERS, pl.col("confidence").cast(pl.Float64))
        .with_row_index("i")
    )
    other = theirs.select(
        "frame_id", "cls", *CORNERS, pl.col("confidence").cast(pl.Float64).alias("other")
    )
    best = (
        overlaps(boxes, other, on=["frame_id", "cls"], min_iou=iou)
        .group_by("i")
        .agg(pl.col("other").max())
    )
    return (
        boxes.join(best, on="i", how="left")
        .with_columns(pl.col("other").fill_null(0.0))
        .with_columns((pl.col("confidence") - pl.col("other")).clip(lower_bound=0).alias("weight"))
        .filter(pl.col("weight") > 0)
        .select(
            "frame_id",
            pl.lit(name).alias("model"),
            "cls",
            *CORNERS,
            "confidence",
            "other",
            "weight",
        )
    )
