"""Bad input is stopped by a blocking check, named, and never reaches main."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import dagster as dg
import polars as pl
import pytest

from entrypoints.demo.world import upload_drives, upload_label_batch
from tests.partitions import read_fleet


@pytest.fixture
def ingested(harness, fleet):
    """A harness whose first 6 drives are published and framed."""
    harness.upload(fleet, fleet.drive_ids[:6])
    (run,) = harness.sensor("fleet_upload_sensor")
    assert run.success and run.asset_materializations_for_node("frames")  # one run: logs, frames
    harness.settle()
    return harness


def failed_check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == name
    ]
    assert not evaluation.passed
    return evaluation


def parquet(df: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.write_parquet(buffer)
    return buffer.getvalue()


BAD_LOGS = {
    "corrupt": lambda log: b"PAR1" + b"\x00garbage" * 100,
    "wrong_schema": lambda log: parquet(
        log.drop("weather").with_columns(pl.col("speed_mps").cast(pl.String))
    ),
    "impossible_values": lambda log: parquet(
        log.with_columns(
            pl.when(pl.col("frame_index") == 3)
            .then(pl.lit(900.0))
            .otherwise(pl.col("speed_mps"))
            .alias("speed_mps"),
            pl.when(pl.col("frame_index") == 5)
            .then(pl.lit("snowstorm"))
            .otherwise(pl.col("weather"))
            .alias("weather"),
        )
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_LOGS))
def test_a_bad_drive_log_is_stopped_and_main_is_unchanged(ingested, fleet, kind):
    h = ingested
    main_before = h.main_commit()
    frames_before = h.materialized("frames").timestamp
    good = fleet.drive_log(fleet.drive_ids[6])
    bad = BAD_LOGS[kind](fleet.drive_log(fleet.drive_ids[7]))
    upload_drives(h.store, h.repo, {fleet.drive_ids[6]: good, fleet.drive_ids[7]: bad})
    (run,) = h.sensor("fleet_upload_sensor")
    assert not run.success
    evaluation = failed_check(run, "drive_logs_valid")
    described = str(evaluation.description) + str(evaluation.metadata)
    expected = {
        "corrupt": "not a readable Parquet file",
        "wrong_schema": f"{fleet.drive_ids[7]}: missing weather; speed_mps is String",
        "impossible_values": "expect_column_values_to_be_between",
    }[kind]
    assert expected in described
    if kind == "impossible_values":
        assert "snowstorm" in described and "900" in described
    # nothing of the upload reached main, not even the good drive of the same upload
    assert h.main_commit() == main_before
    assert not h.store.exists(h.repo, "main", f"raw/drives/{fleet.drive_ids[6]}.parquet")
    branches = [b.name for b in h.store.list_branches(h.repo) if b.name.startswith("run-")]
    assert any("fleet_logs" in b for b in branches), "the failed run's branch stays for inspection"
    # no materialization was recorded, so automation does not rebuild frames
    assert h.automation().requested == []
    assert h.materialized("frames").timestamp == frames_before


BAD_LABELS = {
    "box_outside_image": (lambda b: b.with_columns((pl.col("x1") + 500).alias("x1")), "x1"),
    "unknown_class": (
        lambda b: b.with_columns(pl.lit("traffic_light").alias("cls")),
        "traffic_light",
    ),
    "unknown_frame": (
        lambda b: b.with_columns(pl.lit("d9999-00001").alias("frame_id")),
        "d9999-00001",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_LABELS))
def test_a_bad_label_batch_is_stopped_and_main_is_unchanged(ingested, fleet, labelers, kind):
    h = ingested
    frames = read_fleet(h.store, h.repo, "main", "frames")["frame_id"].to_list()[:40]
    batch = labelers.label(frames, f"lb-bad-{kind}")
    assert batch.boxes.height > 0
    breaks, offender = BAD_LABELS[kind]
    main_before = h.main_commit()
    upload_label_batch(h.store, h.repo, f"lb-bad-{kind}", batch.frames, breaks(batch.boxes), {})
    (run,) = h.sensor("label_batch_sensor")
    assert not run.success
    evaluation = failed_check(run, "label_batch_valid")
    assert offender in str(evaluation.metadata) + str(evaluation.description)
    assert h.main_commit() == main_before
    assert h.automation().requested == []  # training_set never hears of it
    (recorded,) = h.catalog.label_batches()
    assert recorded.status == "rejected" and "inspect store branch" in recorded.reason


def test_a_label_batch_dated_9999_is_stopped_whatever_path_it_came_by(ingested, labelers):
    # uploaded straight to landing, not through `fleetloop labels import` and its date check
    h = ingested
    frames = read_fleet(h.store, h.repo, "main", "frames")["frame_id"].to_list()[:10]
    batch = labelers.label(frames, "lb-bad-9999")
    far = batch.frames.with_columns(
        pl.lit(datetime(9999, 1, 1, tzinfo=UTC)).cast(pl.Datetime("us", "UTC")).alias("labeled_at")
    )
    main_before = h.main_commit()
    upload_label_batch(h.store, h.repo, "lb-bad-9999", far, batch.boxes, {})
    (run,) = h.sensor("label_batch_sensor")
    assert not run.success
    evaluation = failed_check(run, "label_frames_valid")
    assert "labeled at 9999" in str(evaluation.metadata)
    assert h.main_commit() == main_before
    (recorded,) = h.catalog.label_batches()
    assert recorded.status == "rejected"
