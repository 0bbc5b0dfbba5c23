"""Reading uploads defensively and building frames rows."""

from __future__ import annotations

import io

import polars as pl
import pytest

from assets.fleet.ingest import Upload, frames_of, read_drive_log
from quality.suites.fleet import png_size, prepare_drive_log
from resources.simulation import Fleet, FleetConfig
from resources.tables import FRAMES


@pytest.fixture(scope="module")
def log() -> pl.DataFrame:
    return Fleet(FleetConfig(seed=1, drives=1, frames_per_drive=6)).drive_log("d0000")


def test_garbage_is_named_not_parsed():
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        read_drive_log(b"PAR1 this is not parquet", "d0000.parquet")


def test_round_trip_and_frames_rows(log):
    buffer = io.BytesIO()
    log.write_parquet(buffer)
    parsed = read_drive_log(buffer.getvalue(), "d0000.parquet")
    rows = frames_of(parsed.drop("image"), "raw/drives/d0000.parquet")
    assert rows.schema == FRAMES
    assert rows["frame_id"].to_list() == [f"d0000-{i:05d}" for i in range(6)]
    assert rows["image_row"].to_list() == list(range(6))


def test_bad_images_and_foreign_rows_are_named(log):
    assert png_size(log["image"][0]) == (int(log["width"][0]), int(log["height"][0]))
    broken = log.with_columns(
        pl.when(pl.col("frame_index") == 2)
        .then(pl.lit(b"nope"))
        .otherwise(pl.col("image"))
        .alias("image"),
        pl.when(pl.col("frame_index") == 4)
        .then(pl.lit("d9999"))
        .otherwise(pl.col("drive_id"))
        .alias("drive_id"),
    )
    prepared = prepare_drive_log(broken, "d0000")
    assert prepared["bad_image_frame"].drop_nulls().to_list() == [2]
    assert prepared["foreign_drive_id"].drop_nulls().to_list() == ["d9999"]
    upload = Upload(
        logs={"d0000": broken, "d0001": log.with_columns(pl.lit("d0001").alias("drive_id"))}
    )
    assert upload.table().height == 12
