"""Suites for fleet tables: a drive log as uploaded (with its PNG frames) and the frames table.

Per-row facts GX cannot see (is the image a PNG of the declared size, does the file hold one
drive) are computed in polars by `prepare_drive_log` and validated as derived columns whose
non-null values are the offenders, so a failure names the bad frames.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import polars as pl

from quality.gx_runner import gx_module
from quality.suites.columns import offenders_absent, type_family
from quality.suites.fleet_rows import fleet_row_expectations, plausible_time_bounds
from resources.tables import DRIVE_LOG, FRAMES, TIME_OF_DAY, WEATHER

DRIVE_LOG_SUITE = "drive_log"
FRAMES_SUITE = "frames"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SPEED_MPS = 70.0  # 250 km/h: faster is a broken sensor
MAX_IMAGE_SIDE = 4096


def _ranges(now: dt.datetime | None) -> dict[str, tuple[Any, Any]]:
    return {
        "frame_index": (0, None),
        "speed_mps": (0.0, MAX_SPEED_MPS),
        "latitude": (-90.0, 90.0),
        "longitude": (-180.0, 180.0),
        "width": (1, MAX_IMAGE_SIDE),
        "height": (1, MAX_IMAGE_SIDE),
        "timestamp": plausible_time_bounds(now),
    }


def png_size(data: bytes | None) -> tuple[int, int] | None:
    """(width, height) from a PNG header, or None when `data` is not a PNG."""
    if not data or len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def schema_problems(log: pl.DataFrame) -> list[str]:
    """How a drive log's own schema departs from DRIVE_LOG: missing columns, other types."""
    problems = [f"missing {name}" for name in DRIVE_LOG if name not in log.columns]
    for name, expected in DRIVE_LOG.items():
        actual = log.schema.get(name)
        if actual is None or actual == expected:
            continue
        if expected == pl.Binary or actual == pl.Binary or _family(actual) != _family(expected):
            problems.append(f"{name} is {actual}, not {expected}")
    return problems


def _family(dtype: pl.DataType) -> str:
    try:
        return type_family(dtype)
    except ValueError:
        return str(dtype)


def prepare_drive_log(log: pl.DataFrame, drive_id: str) -> pl.DataFrame:
    """Add `bad_image_frame` (frame index whose image is not a PNG of its width x height),
    `foreign_drive_id` (a drive id other than the file's) and `schema_problem` (what is wrong
    with this file's columns, named with the drive, on every row of a bad file)."""
    problems = schema_problems(log)
    derived = [
        pl.lit(f"{drive_id}: {'; '.join(problems)}" if problems else None, dtype=pl.String).alias(
            "schema_problem"
        )
    ]
    if {"image", "width", "height", "frame_index"} <= set(log.columns):
        sizes = [png_size(b) for b in log.get_column("image").to_list()]
        ok = [
            size is not None and size == (w, h)
            for size, w, h in zip(
                sizes, log["width"].to_list(), log["height"].to_list(), strict=True
            )
        ]
        derived.append(
            pl.when(pl.Series(ok, dtype=pl.Boolean))
            .then(None)
            .otherwise(pl.col("frame_index"))
            .alias("bad_image_frame")
        )
    if "drive_id" in log.columns:
        derived.append(
            pl.when(pl.col("drive_id") == drive_id)
            .then(None)
            .otherwise(pl.col("drive_id"))
            .alias("foreign_drive_id")
        )
    return log.with_columns(derived)


def drive_log_suite(*, now: dt.datetime | None = None, min_frames: int = 1) -> list[Any]:
    gxe = gx_module().expectations
    schema = {name: dtype for name, dtype in DRIVE_LOG.items() if name != "image"}
    return [
        *fleet_row_expectations(
            schema,
            unique=[],
            required=list(schema),
            value_sets={"weather": WEATHER, "time_of_day": TIME_OF_DAY},
            ranges=_ranges(now),
        ),
        gxe.ExpectTableRowCountToBeBetween(min_value=min_frames),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["drive_id", "frame_index"], description="a frame is uploaded once"
        ),
        gxe.ExpectColumnToExist(column="image"),
        offenders_absent("bad_image_frame", "every image is a PNG of the declared size"),
        offenders_absent("foreign_drive_id", "every row belongs to the file's drive"),
        offenders_absent("schema_problem", "every file has the drive-log columns and types"),
    ]


def frames_suite(*, now: dt.datetime | None = None) -> list[Any]:
    return fleet_row_expectations(
        dict(FRAMES),
        unique=["frame_id"],
        required=list(FRAMES),
        value_sets={"weather": WEATHER, "time_of_day": TIME_OF_DAY},
        ranges=_ranges(now),
    )
