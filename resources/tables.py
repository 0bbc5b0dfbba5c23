"""The tables that cross module boundaries, as polars schemas: the one contract between the
simulator, the fleet upload, the assets, the model code, the quality suites and the CLI.

Images are PNG bytes inside the drive log (the fleet uploads one Parquet per drive); every
later table refers to a frame by `frame_id` (`<drive_id>-<frame_index:05d>`). Boxes are in
pixels, corners `(x0, y0)` top-left inclusive and `(x1, y1)` bottom-right exclusive, so
`0 <= x0 < x1 <= width`.
"""

from __future__ import annotations

import polars as pl

CLASSES: tuple[str, ...] = ("orange_cone", "green_cone")
WEATHER: tuple[str, ...] = ("clear", "cloudy", "rain")
TIME_OF_DAY: tuple[str, ...] = ("day", "dusk", "night")
SPLITS: tuple[str, ...] = ("train", "eval")

UTC_MICROS = pl.Datetime("us", "UTC")

# One row per frame, as a vehicle uploads it: `uploads/drives/<drive_id>.parquet` on the
# landing branch, published to `raw/drives/<drive_id>.parquet` on main.
DRIVE_LOG = pl.Schema(
    {
        "drive_id": pl.String,
        "frame_index": pl.Int32,
        "timestamp": UTC_MICROS,
        "weather": pl.String,
        "time_of_day": pl.String,
        "speed_mps": pl.Float32,
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        "width": pl.Int32,
        "height": pl.Int32,
        "image": pl.Binary,  # PNG, RGB
    }
)

# The fleet as one table without pixels: `frames/frames.parquet`. `image_path` is the store
# path of the drive log holding the PNG, `image_row` its row there.
FRAMES = pl.Schema(
    {
        "frame_id": pl.String,
        **{k: v for k, v in DRIVE_LOG.items() if k != "image"},
        "image_path": pl.String,
        "image_row": pl.Int32,
    }
)

# One row per box: labels (`labels/<batch_id>/boxes.parquet`) and model predictions.
BOXES = pl.Schema(
    {
        "frame_id": pl.String,
        "x0": pl.Float32,
        "y0": pl.Float32,
        "x1": pl.Float32,
        "y1": pl.Float32,
        "cls": pl.String,
    }
)
PREDICTIONS = pl.Schema({**BOXES, "confidence": pl.Float32})

# The frames a label batch covers (`labels/<batch_id>/frames.parquet`): a frame listed here
# with no row in the batch's boxes was looked at and holds no cone (a true negative).
LABELED_FRAMES = pl.Schema(
    {
        "frame_id": pl.String,
        "batch_id": pl.String,
        "labeler": pl.String,
        "labeled_at": UTC_MICROS,
    }
)

# A labeling request: the frames the labeling queue sends out, in priority order.
LABEL_REQUEST = pl.Schema(
    {
        "request_id": pl.String,
        "frame_id": pl.String,
        "slice": pl.String,
        "rank": pl.Int32,
    }
)

# A slice's frames (`slices/<name>.parquet`), best first.
SLICE = pl.Schema(
    {"frame_id": pl.String, "slice": pl.String, "rank": pl.Int32, "score": pl.Float32}
)

# The training set manifest (`datasets/training_set/manifest.parquet`): `slice` is the slice a
# frame counts for (its weight), `requested_by` the slice that first asked for it.
MANIFEST = pl.Schema(
    {
        "frame_id": pl.String,
        "split": pl.String,
        "slice": pl.String,
        "batch_id": pl.String,
        "weight": pl.Float32,
        "requested_by": pl.String,
    }
)


def frame_id(drive_id: str, frame_index: int) -> str:
    return f"{drive_id}-{frame_index:05d}"


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """`df` with exactly `schema`'s columns, in order and cast (strictly) to its types."""
    return df.select([pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items()])
