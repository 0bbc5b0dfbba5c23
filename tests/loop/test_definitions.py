"""The whole Definitions loads, with the lineage of DESIGN §2 and automation switched on."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import dagster as dg
import pytest

from assets.definitions import build_definitions, defs
from assets.slices.declarations import SLICES, ModelSignal

EDGES = {
    ("fleet_logs", "frames"),
    ("frames", "fleet_predictions"),
    ("deployed_model", "fleet_predictions"),
    ("fleet_predictions", "fleet_signals"),
    ("frames", "baseline_slice"),
    ("frames", "holdout_slice"),
    ("frames", "rain_slice"),
    ("fleet_predictions", "rain_slice"),
    ("fleet_predictions", "green_cones_slice"),
    ("baseline_slice", "labeling_queue"),
    ("rain_slice", "labeling_queue"),
    ("green_cones_slice", "labeling_queue"),
    ("labeling_queue", "label_sets"),
    ("label_sets", "training_set"),
    ("training_set", "candidate_model"),
    ("candidate_model", "evaluation_report"),
    ("evaluation_report", "production_model"),
    ("fleet_predictions", "drift_report"),
    ("fleet_signals", "uncertain_slice"),
    ("fleet_signals", "disagreement_slice"),
    ("fleet_signals", "flicker_slice"),
    ("fleet_signals", "flagged_slice"),
    ("fleet_predictions", "like_flagged_slice"),
    ("fleet_predictions", "label_review_slice"),
    ("label_review_slice", "labeling_queue"),
    ("flicker_slice", "labeling_queue"),
}
SLICES_DECLARED = [spec.asset_name for spec in SLICES]


def test_definitions_load_with_the_designed_lineage():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    edges = {
        (parent.to_user_string(), key.to_user_string())
        for key in graph.get_all_asset_keys()
        for parent in graph.get(key).parent_keys
    }
    assert EDGES <= edges
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"fleet", "slices", "labels", "training", "evaluation", "promotion", "mining"}


def test_one_connected_lineage_from_drive_logs_to_the_gate():
    """The production model's upstream holds every slice, the frames and the fleet logs; a
    slice's downstream holds the training set, the candidate, the report and the gate; the
    feedback edge is the observable source `deployed_model`, not an edge out of the gate."""
    graph = defs.resolve_asset_graph()
    gate = dg.AssetKey("production_model")
    upstream = {k.to_user_string() for k in graph.upstream_key_iterator(gate)}
    assert {*SLICES_DECLARED, "frames", "fleet_logs", "label_sets", "labeling_queue"} <= upstream
    assert {"training_set", "candidate_model", "evaluation_report", "deployed_model"} <= upstream
    downstream = {
        k.to_user_string()
        for k in dg.AssetSelection.assets("rain_slice").downstream().resolve(graph)
    }
    assert {"training_set", "candidate_model", "evaluation_report", "production_model"} <= (
        downstream
    )
    assert not graph.get(gate).child_keys, "the gate has no downstream edge: no cycle"
    assert graph.get(dg.AssetKey("deployed_model")).is_observable
    assert graph.get(dg.AssetKey("frames")).partitions_def is not None
    assert graph.get(dg.AssetKey("fleet_predictions")).partitions_def is not None
    assert graph.get(dg.AssetKey("fleet_signals")).partitions_def is not None


def test_a_misspelled_signal_fails_when_the_definitions_load():
    typo = dataclasses.replace(SLICES[4], selection=ModelSignal(signal="low_confidense"))
    with pytest.raises(ValueError, match="unknown signal 'low_confidense'"):
        build_definitions((*SLICES[:4], typo))


def test_protective_checks_are_blocking():
    blocking = {
        spec.key.name
        for asset in defs.assets
        for spec in getattr(asset, "check_specs", ())
        if spec.blocking
    }
    assert {
        "drive_logs_valid",
        "frames_valid",
        "label_batch_valid",
        "label_frames_valid",
        "training_set_valid",
        "promotion_gate",
    } <= blocking
    assert "predictions_valid" not in blocking  # a warning protects nothing


def test_sensors_automation_and_weekly_cycle_run_by_default():
    for name in (
        "fleet_upload_sensor",
        "label_batch_sensor",
        "deployed_model_sensor",
        "fleetloop_automation",
    ):
        assert defs.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.get_schedule_def("weekly_cycle_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "0 6 * * 1"


def test_slice_code_versions_are_declaration_hashes():
    edited = tuple(
        dataclasses.replace(s, target_size=s.target_size + 1) if s.name == "rain" else s
        for s in SLICES
    )
    before = build_definitions(SLICES).resolve_asset_graph()
    after = build_definitions(edited).resolve_asset_graph()
    versions = {
        name: (
            before.get(dg.AssetKey(name)).code_version,
            after.get(dg.AssetKey(name)).code_version,
        )
        for name in ("rain_slice", "green_cones_slice", "baseline_slice")
    }
    assert versions["rain_slice"][0] != versions["rain_slice"][1]
    assert versions["green_cones_slice"][0] == versions["green_cones_slice"][1]


def test_loading_the_code_location_imports_neither_torch_nor_gx():
    code = (
        "import sys, assets.definitions; "
        "print('torch' in sys.modules, 'great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
