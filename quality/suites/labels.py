"""Suite for a label batch: one row per box, as a labeling team returns them.

Per-frame facts (boxes in the frame, whether the frame is one we know) are computed in polars by
`prepare` and validated as derived columns: GX validates row by row, and a set of tens of
thousands of known frame ids inside an expectation costs GX seconds per expectation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from quality.gx_runner import gx_module
from quality.suites.boxes import BOX_COLUMNS, CLASSES, box_expectations, class_expectation
from quality.suites.columns import not_null, offenders_absent, schema_expectations

SUITE = "label_batch"
SCHEMA = {
    "frame_id": "str",
    "x0": "number",
    "y0": "number",
    "x1": "number",
    "y1": "number",
    "cls": "str",
}
MAX_BOXES_PER_FRAME = 50


def prepare(labels: pl.DataFrame, known_frame_ids: Iterable[str] | None = None) -> pl.DataFrame:
    """Add `boxes_in_frame` and, when `known_frame_ids` is given, `unknown_frame_id`."""
    if "frame_id" not in labels.columns:
        return labels
    derived = [pl.len().over("frame_id").alias("boxes_in_frame")]
    if known_frame_ids is not None:
        known = pl.Series(list(known_frame_ids), dtype=pl.String)
        unknown = pl.when(pl.col("frame_id").is_in(known.implode())).then(None)
        derived.append(unknown.otherwise(pl.col("frame_id")).alias("unknown_frame_id"))
    return labels.with_columns(derived)


def label_batch_suite(
    *,
    image_width: int,
    image_height: int,
    classes: tuple[str, ...] = CLASSES,
    max_boxes_per_frame: int = MAX_BOXES_PER_FRAME,
    check_known_frames: bool = False,
) -> list[Any]:
    """Expectations for a prepared label batch; `check_known_frames` needs `unknown_frame_id`."""
    gxe = gx_module().expectations
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="a batch has boxes"),
        *schema_expectations(SCHEMA),
        *not_null(["frame_id", *BOX_COLUMNS, "cls"]),
        *box_expectations(image_width=image_width, image_height=image_height),
        class_expectation(classes),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["frame_id", *BOX_COLUMNS, "cls"], description="no box labeled twice"
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="boxes_in_frame",
            min_value=1,
            max_value=max_boxes_per_frame,
            description=f"at most {max_boxes_per_frame} boxes per frame",
        ),
    ]
    if check_known_frames:
        expectations.append(offenders_absent("unknown_frame_id", "frame_id is a known frame"))
    return expectations


FRAMES_SUITE = "label_frames"


def prepare_frames(frames: pl.DataFrame, known_frame_ids: Iterable[str]) -> pl.DataFrame:
    """Add `unknown_frame_id`: a listed frame that is not a frame of the fleet."""
    if "frame_id" not in frames.columns:
        return frames
    known = pl.Series(list(known_frame_ids), dtype=pl.String)
    unknown = pl.when(pl.col("frame_id").is_in(known.implode())).then(None)
    return frames.with_columns(unknown.otherwise(pl.col("frame_id")).alias("unknown_frame_id"))


def label_frames_suite() -> list[Any]:
    """The frames a batch covers: each listed once, each a fleet frame, with who and when."""
    gxe = gx_module().expectations
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="a batch covers frames"),
        *schema_expectations(FRAMES_SCHEMA),
        *not_null(FRAMES_SCHEMA),
        gxe.ExpectColumnValuesToBeUnique(column="frame_id", description="a frame listed once"),
        offenders_absent("unknown_frame_id", "every listed frame is a frame of the fleet"),
    ]


FRAMES_SCHEMA = {"frame_id": "str", "batch_id": "str", "labeler": "str", "labeled_at": "datetime"}
