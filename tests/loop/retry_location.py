"""The code location of the run-retry test (tests/loop/test_run_retries.py): the loop's
assets on the world at `$FLEETLOOP_HOME`, with one sensor that asks for one promotion run
instead of the loop's sensors and automation."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from bench.faults_loop import world_definitions


@dg.sensor(
    asset_selection=["production_model"],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def promote_once(context: dg.SensorEvaluationContext):
    return dg.RunRequest(run_key="promote-once")


def _definitions() -> dg.Definitions:
    world = world_definitions(Path(os.environ["FLEETLOOP_HOME"]))
    return dg.Definitions(
        assets=list(world.assets or []),
        sensors=[promote_once],
        resources=world.resources,
        executor=dg.in_process_executor,
    )


defs = _definitions()
