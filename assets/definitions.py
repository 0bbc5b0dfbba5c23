"""fleetloop's Dagster definitions: the asset graph of DESIGN §2, its checks, sensors,
automation and schedule, with resources picked from the environment.

`build_definitions` takes the slice declarations, so a test can load the same graph with an
edited slice and watch automation react; `defs` is what `workspace.yaml` loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from assets.automation import automation_sensor, weekly_cycle
from assets.evaluation.assets import evaluation_report
from assets.fleet.assets import fleet_logs, frames
from assets.labels.assets import build_labeling_queue, label_sets
from assets.mining.assets import fleet_predictions
from assets.mining.deployed import deployed_model
from assets.mining.drift import drift_report
from assets.mining.fleet_signals import fleet_signals
from assets.promotion.assets import build_production_model
from assets.sensors import deployed_model_sensor, fleet_upload_sensor, label_batch_sensor
from assets.slices.assets import build_slice_assets
from assets.slices.declarations import SliceSpec, declared_slices
from assets.training.assets import build_training_set_asset, candidate_model
from resources.environment import resources_from_env


def build_definitions(
    slices: Sequence[SliceSpec] | None = None, resources: dict[str, Any] | None = None
) -> dg.Definitions:
    slices = declared_slices() if slices is None else slices
    names = [spec.name for spec in slices]
    if len(set(names)) != len(names):
        raise ValueError(f"slice names must be unique: {sorted(names)}")
    slice_assets = build_slice_assets(slices)
    labeling_queue = build_labeling_queue(slices)
    training_set = build_training_set_asset(slices)
    production_model = build_production_model(slices)
    # the unpartitioned cycle; the drive partitions follow uploads and deployed models
    cycle = dg.AssetSelection.assets(
        drift_report,
        *slice_assets,
        labeling_queue,
        training_set,
        candidate_model,
        evaluation_report,
        production_model,
    )
    return dg.Definitions(
        assets=[
            fleet_logs,
            frames,
            deployed_model,
            fleet_predictions,
            fleet_signals,
            drift_report,
            *slice_assets,
            labeling_queue,
            label_sets,
            training_set,
            candidate_model,
            evaluation_report,
            production_model,
        ],
        sensors=[
            fleet_upload_sensor,
            label_batch_sensor,
            deployed_model_sensor,
            automation_sensor(),
        ],
        schedules=[weekly_cycle(cycle)],
        resources=resources if resources is not None else resources_from_env(),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
