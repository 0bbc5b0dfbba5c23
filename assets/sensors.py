"""Sensors on the landing branch: fleet uploads and label batches become runs.

Each sensor's cursor is the landing commit it last handled; a tick reads what was committed
since (a two-dot diff), so one commit is handled once. Run keys name the landing commit too,
so a tick replayed after a daemon restart that lost its cursor launches nothing twice.
"""

from __future__ import annotations

import dagster as dg

from assets.automation import AUTOMATION_INTERVAL_S
from assets.fleet.assets import drives, fleet_logs
from assets.labels.assets import label_batches, label_sets
from assets.landing import (
    DRIVE_UPLOADS,
    LABEL_UPLOADS,
    LANDING_COMMIT_TAG,
    arrivals_since,
    ensure_landing,
    upload_name,
)
from resources.store_resource import VersionedStoreResource

SENSOR_INTERVAL_S = AUTOMATION_INTERVAL_S  # FLEETLOOP_TICK_SECONDS
LABEL_BATCH_FILES = ("frames.parquet", "boxes.parquet", "batch.json")
_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"


@dg.sensor(
    name="fleet_upload_sensor",
    asset_selection=[fleet_logs],
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New drive logs on the landing branch → one fleet_logs run per upload.",
)
def fleet_upload_sensor(context: dg.SensorEvaluationContext, store: VersionedStoreResource):
    vs, repo = store.ensure_repository(), store.repository
    ensure_landing(vs, repo, store.main_branch)
    arrivals = arrivals_since(vs, repo, context.cursor, DRIVE_UPLOADS)
    if not arrivals.paths:
        return dg.SensorResult(cursor=arrivals.head)
    arrived = sorted(
        {upload_name(p, DRIVE_UPLOADS) for p in arrivals.paths if p.endswith(".parquet")}
    )
    known = set(context.instance.get_dynamic_partitions(drives.name))
    new = [d for d in arrived if d not in known]
    tags = {LANDING_COMMIT_TAG: arrivals.head}
    key = arrivals.head[:12]
    requests = []
    if len(new) > 1:  # new partitions are added in this order, so they form one range
        requests.append(
            dg.RunRequest(
                run_key=f"upload-{key}-{new[0]}-{new[-1]}",
                tags={**tags, _RANGE_START: new[0], _RANGE_END: new[-1]},
            )
        )
    elif new:
        requests.append(
            dg.RunRequest(run_key=f"upload-{key}-{new[0]}", partition_key=new[0], tags=tags)
        )
    for drive in arrived:  # re-uploads of known drives: one run each
        if drive in known:
            requests.append(
                dg.RunRequest(run_key=f"upload-{key}-{drive}", partition_key=drive, tags=tags)
            )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[drives.build_add_request(new)] if new else [],
        cursor=arrivals.head,
    )


@dg.sensor(
    name="label_batch_sensor",
    asset_selection=[label_sets],
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A label batch committed on the landing branch → one label_sets run for it.",
)
def label_batch_sensor(context: dg.SensorEvaluationContext, store: VersionedStoreResource):
    vs, repo = store.ensure_repository(), store.repository
    ensure_landing(vs, repo, store.main_branch)
    arrivals = arrivals_since(vs, repo, context.cursor, LABEL_UPLOADS)
    batches = sorted(
        {
            p[len(LABEL_UPLOADS) :].split("/", 1)[0]
            for p in arrivals.paths
            if "/" in p[len(LABEL_UPLOADS) :]
        }
    )
    if not batches:
        return dg.SensorResult(cursor=arrivals.head)
    known = set(context.instance.get_dynamic_partitions(label_batches.name))
    new = [b for b in batches if b not in known]
    for batch in batches:
        context.log.info(f"label batch {batch} landed in commit {arrivals.head[:12]}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"labels-{batch}@{arrivals.head[:12]}",
                partition_key=batch,
                tags={LANDING_COMMIT_TAG: arrivals.head},
            )
            for batch in batches
        ],
        dynamic_partitions_requests=[label_batches.build_add_request(new)] if new else [],
        cursor=arrivals.head,
    )
