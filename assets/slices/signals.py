"""Model signals: per-frame scores computed from a model's `PREDICTIONS` table, no labels
needed. A curated slice ranks unlabeled fleet frames by one of them.

- `green_cone_score`: the highest green_cone confidence in the frame (0 when none): frames
  where the model sees something green and cone-shaped, real green cones and confusers alike.
- `uncertainty`: how many detections sit in the uncertain band, each weighted by its binary
  entropy (so a 0.5 counts 1, a 0.25 about 0.8): frames the model cannot make up its mind on.
Pass `frame_ids` to score every frame (0 where the model saw nothing); without it, only the
frames in the predictions are scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

SCORES = pl.Schema({"frame_id": pl.String, "score": pl.Float32})


def _per_frame(frame_ids: Sequence[str] | None, scores: pl.DataFrame) -> pl.DataFrame:
    """`scores` (frame_id, score) on exactly `frame_ids`, in their order, 0 where missing;
    without `frame_ids`, on the frames that have a score, sorted."""
    if frame_ids is None:
        return scores.sort("frame_id").with_columns(pl.col("score").cast(pl.Float32))
    frames = pl.DataFrame({"frame_id": list(frame_ids)}, schema={"frame_id": pl.String})
    return (
        frames.join(scores, on="frame_id", how="left", maintain_order="left")
        .with_columns(pl.col("score").fill_null(0.0).cast(pl.Float32))
        .select(SCORES.names())
    )


def green_cone_score(
    predictions: pl.DataFrame, frame_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    scores = (
        predictions.filter(pl.col("cls") == "green_cone")
        .group_by("frame_id")
        .agg(pl.col("confidence").max().alias("score"))
    )
    return _per_frame(frame_ids, scores)


def uncertainty(
    predictions: pl.DataFrame,
    frame_ids: Sequence[str] | None = None,
    *,
    low: float = 0.15,
    high: float = 0.6,
) -> pl.DataFrame:
    c = pl.col("confidence").cast(pl.Float64).clip(1e-6, 1 - 1e-6)
    entropy = -(c * c.log(2) + (1 - c) * (1 - c).log(2))
    scores = (
        predictions.filter((pl.col("confidence") >= low) & (pl.col("confidence") < high))
        .group_by("frame_id")
        .agg(entropy.sum().alias("score"))
    )
    return _per_frame(frame_ids, scores)
