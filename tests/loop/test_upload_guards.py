"""Uploads through real `materialize` runs on the embedded store: the later of two uploads of a
drive wins whatever order their runs finish in, and an upload over the size cap or with a
lying footer fails its check by name with main unchanged."""

from __future__ import annotations

import io

import dagster as dg
import polars as pl
import pytest

from entrypoints.demo.world import upload_drives
from resources.landing import LANDING_COMMIT_TAG, MAX_UPLOAD_ENV
from tests.interop.test_corrupt_parquet import lying_footers


def parquet(df: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.write_parquet(buffer)
    return buffer.getvalue()


@pytest.fixture
def bad_inputs(request):
    """Count the bad inputs a test saw refused (`bench/faults_input.py`)."""
    from tests.catalog.faults import counter

    return counter(request, "bad_inputs")


def checks_of(run: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    return [
        e.asset_check_evaluation_data
        for e in run.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def fleet_logs_run(h, drive: str, landing: str) -> dg.ExecuteInProcessResult:
    h.instance.add_dynamic_partitions("drives", [drive])
    return dg.materialize(
        h.assets,
        selection=["fleet_logs"],
        instance=h.instance,
        resources=h.resources,
        partition_key=drive,
        tags={LANDING_COMMIT_TAG: landing},
        raise_on_error=False,
    )


def test_the_later_upload_of_a_drive_wins_when_its_run_finishes_first(harness, fleet):
    h, drive = harness, fleet.drive_ids[0]
    first = parquet(fleet.drive_log(drive))
    fixed = parquet(fleet.drive_log(drive).with_columns(pl.col("speed_mps") * 0.5))
    c1 = upload_drives(h.store, h.repo, {drive: first})
    c2 = upload_drives(h.store, h.repo, {drive: fixed}, message="fleet re-upload")
    assert c1 != c2

    newer = fleet_logs_run(h, drive, c2)
    assert newer.success
    main_after_newer = h.main_commit()
    assert h.store.get(h.repo, "main", f"raw/drives/{drive}.parquet") == fixed

    older = fleet_logs_run(h, drive, c1)  # the first upload's run, finishing last
    assert older.success
    assert h.store.get(h.repo, "main", f"raw/drives/{drive}.parquet") == fixed
    assert h.main_commit() == main_after_newer  # a no-op, not a second merge
    assert not older.asset_materializations_for_node("fleet_logs")
    logged = [e.user_message for e in h.instance.all_logs(older.run_id)]
    assert any(f"later upload of landing {c2[:12]}" in m for m in logged), logged


def test_an_upload_over_the_cap_is_refused_by_name(harness, fleet, monkeypatch, bad_inputs):
    h, drive = harness, fleet.drive_ids[1]
    data = parquet(fleet.drive_log(drive))
    monkeypatch.setenv(MAX_UPLOAD_ENV, "0.01")  # 10 KiB: the log is larger
    assert len(data) > 0.01 * 1024 * 1024
    main_before = h.main_commit()
    run = fleet_logs_run(h, drive, upload_drives(h.store, h.repo, {drive: data}))
    assert not run.success
    (check,) = checks_of(run)
    described = str(check.metadata)
    assert not check.passed
    assert f"uploads/drives/{drive}.parquet: {len(data)} bytes, over the upload cap" in described
    assert MAX_UPLOAD_ENV in described
    assert h.main_commit() == main_before
    assert not h.store.exists(h.repo, "main", f"raw/drives/{drive}.parquet")
    bad_inputs.count()


def test_a_lying_footer_fails_the_check_and_the_run_survives(harness, fleet, bad_inputs):
    h, drive = harness, fleet.drive_ids[2]
    lie = lying_footers(parquet(fleet.drive_log(drive)))[4]  # a column chunk's value count
    main_before = h.main_commit()
    run = fleet_logs_run(h, drive, upload_drives(h.store, h.repo, {drive: lie}))
    assert not run.success
    (check,) = checks_of(run)
    assert "not a readable Parquet file" in str(check.metadata)
    assert "claims 1099511627776 values" in str(check.metadata)
    assert h.main_commit() == main_before
    bad_inputs.count()
