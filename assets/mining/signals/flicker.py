"""Flicker: detections that are not consistent across consecutive frames of a drive.

An object seen confidently at t-1 and t+1 should be seen at t too (a *gap*: the model lost it
for one frame, or called it another class there), and a confident detection should be seen
at t-1 or t+1 as well (a *blip*: it exists for a single frame). Both are scored at the odd
frame t, weighted by the confidence the neighbours give the object minus the support found.

Objects are followed by ego-motion, not by box overlap: cones stand on the road, so a box's
bottom edge gives its depth (the camera's calibration), the drive log's speed and timestamps
give how far the car moved, and the box at another moment is the box scaled about the focus
of expansion by the ratio of depths. At fleet speeds an object grows by half its size in half
a second, so plain IoU between t-1 and t+1 is zero for most objects, and a row of identical
cones looks the same after any shift: only the distance driven says which cone is which.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from assets.evaluation.metrics import CORNERS, box_iou
from assets.mining.signals.scores import per_frame

KEYS = ["drive_id", "frame_index"]


@dataclass(frozen=True)
class Camera:
    """A forward-looking camera on a car: where the road vanishes, the focal length and the
    mounting height. The defaults are the simulated fleet's camera."""

    focus_x: float = 0.5  # focus of expansion, share of the image width
    horizon: float = 0.4  # horizon line, share of the image height
    focal: float = 1.3  # focal length, share of the image width
    height_m: float = 1.3  # above the road


@dataclass(frozen=True)
class FlickerConfig:
    confident: float = 0.5  # a detection the neighbours vouch for
    link_iou: float = 0.3  # a projected box and a detection are the same object
    min_height_px: float = 5.0  # a projected box smaller than this is not expected to be seen
    min_inside: float = 0.6  # share of a projected box inside the image to expect it
    camera: Camera = Camera()


def flicker(
    predictions: pl.DataFrame, frames: pl.DataFrame, config: FlickerConfig | None = None
) -> pl.DataFrame:
    """(frame_id, score) for every frame of `frames` (`FRAMES` columns: frame_id, drive_id,
    frame_index, timestamp, speed_mps, width, height): the summed weight of the gaps and blips
    at that frame."""
    events = flicker_events(predictions, frames, config)
    scores = events.group_by("frame_id").agg(pl.col("weight").sum().alias("score"))
    return per_frame(scores, frames.get_column("frame_id").to_list())


def flicker_events(
    predictions: pl.DataFrame, frames: pl.DataFrame, config: FlickerConfig | None = None
) -> pl.DataFrame:
    """The gaps and blips behind `flicker`: frame_id, kind (gap | blip), cls, the box at the
    odd frame (x0, y0, x1, y1) and its weight, heaviest first per frame."""
    c = config or FlickerConfig()
    where = _odometry(frames, c.camera)
    boxes = (
        predictions.join(where, on="frame_id")
        .with_columns(*(pl.col(k).cast(pl.Float64) for k in CORNERS))
        .with_columns((pl.col("focal_h") / (pl.col("y1") - pl.col("fy"))).alias("depth"))
    )
    # a box touching the bottom edge (cut) or not below the horizon has no usable depth
    boxes = boxes.with_columns(
        pl.when((pl.col("y1") < pl.col("height") - 0.5) & (pl.col("y1") > pl.col("fy") + 0.5))
        .then(pl.col("depth"))
        .otherwise(None)
        .alias("depth")
    )
    events = [_gaps(boxes, where, c), _blips(boxes, where, c)]
    return pl.concat(events).sort(["frame_id", "weight"], descending=[False, True])


def _odometry(frames: pl.DataFrame, camera: Camera) -> pl.DataFrame:
    """Per frame: drive, index, distance driven since the drive's first frame (speed of the
    previous frame times the time since it), image size and the calibration in pixels."""
    seconds = pl.col("timestamp").diff().dt.total_microseconds().cast(pl.Float64) / 1e6
    moved = (pl.col("speed_mps").cast(pl.Float64).shift(1) * seconds).fill_null(0.0)
    return (
        frames.select(
            "frame_id",
            "drive_id",
            pl.col("frame_index").cast(pl.Int32),
            "timestamp",
            "speed_mps",
            pl.col("width").cast(pl.Float64),
            pl.col("height").cast(pl.Float64),
        )
        .sort(KEYS)
        .with_columns(moved.over("drive_id").alias("moved"))
        .with_columns(pl.col("moved").cum_sum().over("drive_id").alias("odometer"))
        .select(
            "frame_id",
            *KEYS,
            "odometer",
            "width",
            "height",
            (pl.col("width") * camera.focus_x).alias("fx"),
            (pl.col("height") * camera.horizon).alias("fy"),
            (pl.col("width") * camera.focal * camera.height_m).alias("focal_h"),
        )
    )


def _projected(boxes: pl.DataFrame, where: pl.DataFrame, step: int, c: FlickerConfig):
    """Each box with depth, projected `step` frames later (earlier when negative): the frame
    id there, the box there (`x0_p` …), and whether it is expected to be seen there."""
    there = where.select(
        "drive_id",
        (pl.col("frame_index") - step).alias("frame_index"),
        pl.col("frame_id").alias("frame_id_p"),
        pl.col("odometer").alias("odometer_p"),
    )
    depth_p = pl.col("depth") - (pl.col("odometer_p") - pl.col("odometer"))
    scale = pl.col("depth") / depth_p
    projected = [
        (pl.col(f"f{k[0]}") + scale * (pl.col(k) - pl.col(f"f{k[0]}"))).alias(f"{k}_p")
        for k in CORNERS
    ]
    w, h = pl.col("x1_p") - pl.col("x0_p"), pl.col("y1_p") - pl.col("y0_p")
    inside_w = pl.min_horizontal("x1_p", "width") - pl.max_horizontal("x0_p", 0.0)
    inside_h = pl.min_horizontal("y1_p", "height") - pl.max_horizontal("y0_p", 0.0)
    inside = inside_w.clip(lower_bound=0) * inside_h.clip(lower_bound=0) / (w * h)
    return (
        boxes.filter(pl.col("depth").is_not_null())
        .join(there, on=KEYS)
        .filter(depth_p > 1.0)  # not passed yet
        .with_columns(projected)
        .with_columns(((h >= c.min_height_px) & (inside >= c.min_inside)).alias("visible"))
    )


def _support(projected: pl.DataFrame, boxes: pl.DataFrame, id_column: str, threshold: float):
    """Best confidence, per projected box, of a detection of its class where it was projected."""
    found = boxes.select(
        pl.col("frame_id").alias("frame_id_p"),
        "cls",
        *(pl.col(k).alias(f"{k}_d") for k in CORNERS),
        pl.col("confidence").alias("support"),
    )
    return (
        projected.select(id_column, "frame_id_p", "cls", *(f"{k}_p" for k in CORNERS))
        .join(found, on=["frame_id_p", "cls"])
        .filter(box_iou("_d", "_p") >= threshold)
        .group_by(id_column)
        .agg(pl.col("support").max())
    )


def _gaps(boxes: pl.DataFrame, where: pl.DataFrame, c: FlickerConfig) -> pl.DataFrame:
    sure = boxes.filter(pl.col("confidence") >= c.confident).with_row_index("a")
    # a confident box at t-1 seen confidently again at t+1, where the car's motion puts it ...
    ahead = _projected(sure, where, 2, c).filter("visible")
    again = _support(ahead, sure, "a", c.link_iou).rename({"support": "again"})
    # ... should be seen at t as well
    middle = _projected(sure.join(again, on="a"), where, 1, c).filter("visible")
    seen = _support(middle, boxes, "a", c.link_iou)
    return (
        middle.join(seen, on="a", how="left")
        .with_columns(
            (pl.min_horizontal("confidence", "again") - pl.col("support").fill_null(0.0)).alias(
                "weight"
            )
        )
        .filter(pl.col("weight") > 0)
        .select(
            pl.col("frame_id_p").alias("frame_id"),
            pl.lit("gap").alias("kind"),
            "cls",
            *(pl.col(f"{k}_p").alias(k) for k in CORNERS),
            pl.col("weight").cast(pl.Float64),
        )
    )


def _blips(boxes: pl.DataFrame, where: pl.DataFrame, c: FlickerConfig) -> pl.DataFrame:
    sure = boxes.filter(pl.col("confidence") >= c.confident).with_row_index("b")
    sides = [_projected(sure, where, step, c).filter("visible") for step in (-1, 1)]
    expected = pl.concat([s.select("b") for s in sides]).unique()  # seen from a neighbour
    support = pl.concat([_support(s, boxes, "b", c.link_iou) for s in sides])
    return (
        sure.join(expected, on="b")
        .join(support.group_by("b").agg(pl.col("support").max()), on="b", how="left")
        .with_columns((pl.col("confidence") - pl.col("support").fill_null(0.0)).alias("weight"))
        .filter(pl.col("weight") > 0)
        .select(
            "frame_id",
            pl.lit("blip").alias("kind"),
            "cls",
            *CORNERS,
            pl.col("weight").cast(pl.Float64),
        )
    )
