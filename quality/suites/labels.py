"""Suite for a label batch: one row per box, as a labeling team returns them.

Per-frame facts (boxes in the frame, whether the frame is one we know) are computed in polars by
`prepare` and validated as derived columns: GX validates row by row, and a set of tens of
thousands of known frame ids inside an expectation costs GX seconds per expectation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from quality.gx_runner import gx_module
from quality.suites.boxes import BOX_COLUMNS, CLASSES, box_expectations, class_expectation
from quality.suites.columns import not_null, offenders_absent, schema_expectations
from resources.interop.records import CLOCK_SKEW, EARLIEST_LABEL

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


def prepare(
    labels: pl.DataFrame,
    known_frame_ids: Iterable[str] | None = None,
    frame_sizes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add `boxes_in_frame`; with `known_frame_ids`, `unknown_frame_id`; with `frame_sizes`
    (frame_id, width, height), `box_outside_frame`. Numeric box corners are cast to Float32
    first, as they are stored, so a box that is only wide in float64 is checked as the
    zero-width box it becomes."""
    if "frame_id" not in labels.columns:
        return labels
    stored = [
        pl.col(c).cast(pl.Float32)
        for c in BOX_COLUMNS
        if c in labels.columns and labels.schema[c].is_numeric()
    ]
    labels = labels.with_columns(stored)
    derived = [pl.len().over("frame_id").alias("boxes_in_frame")]
    if known_frame_ids is not None:
        known = pl.Series(list(known_frame_ids), dtype=pl.String)
        unknown = pl.when(pl.col("frame_id").is_in(known.implode())).then(None)
        derived.append(unknown.otherwise(pl.col("frame_id")).alias("unknown_frame_id"))
    labels = labels.with_columns(derived)
    if frame_sizes is not None:  # corners of the wrong type fail the schema, not this
        outside = (
            _outside_own_frame(labels, frame_sizes)
            if len(stored) == len(BOX_COLUMNS)
            else pl.lit(None, pl.String).alias("box_outside_frame")
        )
        labels = labels.with_columns(outside)
    return labels


def _outside_own_frame(labels: pl.DataFrame, frame_sizes: pl.DataFrame) -> pl.Series:
    """Per box, `<frame> <x0,y0,x1,y1> outside <w>x<h>` when a corner lies outside its own
    frame's image (frames differ in size, so the fleet's largest image is no bound); null
    when inside or when the frame is unknown (that fails its own expectation)."""
    sizes = frame_sizes.select(
        pl.col("frame_id").cast(pl.String),
        pl.col("width").cast(pl.Float32).alias("_w"),
        pl.col("height").cast(pl.Float32).alias("_h"),
    ).unique("frame_id")
    joined = labels.select("frame_id", *BOX_COLUMNS).join(
        sizes, on="frame_id", how="left", maintain_order="left"
    )
    outside = (pl.col("x1") > pl.col("_w")) | (pl.col("y1") > pl.col("_h"))
    outside |= (pl.col("x0") > pl.col("_w")) | (pl.col("y0") > pl.col("_h"))
    corners = pl.concat_str([pl.col(c).cast(pl.String) for c in BOX_COLUMNS], separator=",")
    size = pl.concat_str([pl.col("_w").cast(pl.Int64), pl.col("_h").cast(pl.Int64)], separator="x")
    text = pl.format("{} {} outside {}", pl.col("frame_id"), corners, size)
    return joined.select(pl.when(outside).then(text).otherwise(None).alias("box_outside_frame"))[
        "box_outside_frame"
    ]


def label_batch_suite(
    *,
    image_width: int,
    image_height: int,
    classes: tuple[str, ...] = CLASSES,
    max_boxes_per_frame: int = MAX_BOXES_PER_FRAME,
    check_known_frames: bool = False,
    check_frame_sizes: bool = False,
) -> list[Any]:
    """Expectations for a prepared label batch; `check_known_frames` needs `unknown_frame_id`,
    `check_frame_sizes` needs `box_outside_frame`."""
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
    if check_frame_sizes:
        expectations.append(
            offenders_absent("box_outside_frame", "every box lies inside its own frame's image")
        )
    return expectations


FRAMES_SUITE = "label_frames"


def prepare_frames(
    frames: pl.DataFrame, known_frame_ids: Iterable[str], now: datetime | None = None
) -> pl.DataFrame:
    """Add `unknown_frame_id` (a listed frame that is not a frame of the fleet) and
    `labeled_at_out_of_range` (a time no label was made at: before the fleet existed or
    later than `CLOCK_SKEW` after `now`), whatever path the batch came by."""
    if "frame_id" not in frames.columns:
        return frames
    known = pl.Series(list(known_frame_ids), dtype=pl.String)
    unknown = pl.when(pl.col("frame_id").is_in(known.implode())).then(None)
    frames = frames.with_columns(unknown.otherwise(pl.col("frame_id")).alias("unknown_frame_id"))
    if "labeled_at" in frames.columns and isinstance(frames.schema["labeled_at"], pl.Datetime):
        moment = pl.col("labeled_at")
        if frames.schema["labeled_at"].time_zone is None:  # naive times are taken as UTC
            moment = moment.dt.replace_time_zone("UTC")
        latest = (now or datetime.now(UTC)) + CLOCK_SKEW
        bad = (moment < EARLIEST_LABEL) | (moment > latest)
        shown = pl.format("{} labeled at {}", pl.col("frame_id"), moment.dt.to_string())
        frames = frames.with_columns(
            pl.when(bad).then(shown).otherwise(None).alias("labeled_at_out_of_range")
        )
    else:  # missing or not a time: the schema expectations say so
        frames = frames.with_columns(pl.lit(None, pl.String).alias("labeled_at_out_of_range"))
    return frames


def label_frames_suite() -> list[Any]:
    """The frames a batch covers: each listed once, each a fleet frame, with who and when."""
    gxe = gx_module().expectations
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="a batch covers frames"),
        *schema_expectations(FRAMES_SCHEMA),
        *not_null(FRAMES_SCHEMA),
        gxe.ExpectColumnValuesToBeUnique(column="frame_id", description="a frame listed once"),
        offenders_absent("unknown_frame_id", "every listed frame is a frame of the fleet"),
        offenders_absent(
            "labeled_at_out_of_range",
            f"labeled_at lies between {EARLIEST_LABEL.year} and now (+{CLOCK_SKEW} clock skew)",
        ),
    ]


FRAMES_SCHEMA = {"frame_id": "str", "batch_id": "str", "labeler": "str", "labeled_at": "datetime"}
