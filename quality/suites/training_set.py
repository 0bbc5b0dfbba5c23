"""Suite for a training/eval manifest: one row per (frame, split), with class balance.

Facts about whole frames are computed by `prepare` in polars and validated as derived columns:
`overlapping_frame_id` names the frames found in more than one split (null otherwise), and
`has_green_cone` says whether the frame's labels hold a green cone, so the column's mean is the
share of frames with a green cone — the rare class the detector must not forget.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from quality.gx_runner import gx_module
from quality.suites.columns import not_null, offenders_absent, schema_expectations

SUITE = "training_set"
SPLITS = ("train", "eval")
SCHEMA = {"frame_id": "str", "split": "str"}
RARE_CLASS = "green_cone"


def prepare(manifest: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Add `overlapping_frame_id` and `has_green_cone` (labels: one row per box, frame_id + cls)."""
    if not {"frame_id", "split"} <= set(manifest.columns):
        return manifest
    rare = labels.filter(pl.col("cls") == RARE_CLASS).get_column("frame_id").unique().implode()
    in_many_splits = pl.col("split").n_unique().over("frame_id") > 1
    return manifest.with_columns(
        pl.when(in_many_splits).then(pl.col("frame_id")).alias("overlapping_frame_id"),
        pl.col("frame_id").is_in(rare).alias("has_green_cone"),
    )


def training_set_suite(
    *, min_rows: int = 1, max_rows: int | None = None, min_green_share: float = 0.0
) -> list[Any]:
    """Expectations for a prepared manifest; `min_green_share` is a fraction of its frames."""
    gxe = gx_module().expectations
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=min_rows, max_value=max_rows),
        *schema_expectations(SCHEMA),
        *not_null(["frame_id", "split"]),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(
            column="split",
            value_set=list(SPLITS),
            description="frames to train on and to evaluate on",
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["frame_id", "split"], description="a frame is listed once per split"
        ),
        offenders_absent("overlapping_frame_id", "no frame is in both train and eval"),
        gxe.ExpectColumnMeanToBeBetween(
            column="has_green_cone",
            min_value=min_green_share,
            description=f"at least {min_green_share:.0%} of frames contain a green cone",
        ),
    ]
