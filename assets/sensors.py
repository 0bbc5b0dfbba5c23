"""Sensors: the outside world and the deployed model become runs.

- `fleet_upload_sensor` and `label_batch_sensor` watch the landing branch. Each cursor is the
  landing commit last handled; a tick reads what was committed since (a two-dot diff), so one
  commit is handled once. Run keys name the content they carry, so a tick replayed after a
  daemon restart that lost its cursor launches nothing twice; a label batch whose runs all
  failed before the catalog recorded it is retried under a new key.
- An upload is one run over its new drives' partitions: the logs, their frames and, when a
  model is deployed, its predictions and signals for those drives only.
- `deployed_model_sensor` observes the registry alias `production`; when a promotion moves
  it, it records the new version as an observation of `deployed_model` and re-predicts the
  fleet as a partitioned backfill: runs of `DRIVES_PER_RUN` drives that run side by side.
"""

from __future__ import annotations

import dagster as dg

from assets.automation import AUTOMATION_INTERVAL_S
from assets.fleet.assets import DRIVES_PER_RUN, drives, fleet_logs, frames
from assets.labels.assets import LABEL_FILES, label_batches, label_sets
from assets.mining.assets import fleet_predictions
from assets.mining.deployed import DEPLOYED_MODEL, NOT_DEPLOYED, deployed_version
from assets.mining.fleet_signals import fleet_signals
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.faults import point
from resources.landing import (
    DRIVE_UPLOADS,
    LABEL_UPLOADS,
    LANDING_COMMIT_TAG,
    arrivals_since,
    content_key,
    ensure_landing,
    upload_name,
)
from resources.layout import drive_path
from resources.store_resource import VersionedStoreResource
from resources.versioning import NotFoundError

SENSOR_INTERVAL_S = AUTOMATION_INTERVAL_S  # FLEETLOOP_TICK_SECONDS
LABEL_BATCH_FILES = LABEL_FILES
LABEL_RETRIES = 3
_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"
_DATA_VERSION = "dagster/data_version"
_PARTITION = "dagster/partition"
_SENSOR = "dagster/sensor_name"  # the daemon tags the runs a sensor launches
LABEL_BATCH_SENSOR = "label_batch_sensor"
DRIVE_ASSETS = [fleet_logs, frames, fleet_predictions, fleet_signals]
PREDICTION_ASSETS = [fleet_predictions, fleet_signals]


@dg.sensor(
    name="fleet_upload_sensor",
    asset_selection=DRIVE_ASSETS,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New drive logs on the landing branch → one run per upload over its drives: "
    "logs, frames, and the deployed model's predictions and signals.",
)
def fleet_upload_sensor(
    context: dg.SensorEvaluationContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    vs, repo = store.ensure_repository(), store.repository
    # before a model is deployed there is nothing to predict with: logs and frames only
    selection = (
        DRIVE_ASSETS if deployed_version(catalog, detector) != NOT_DEPLOYED else DRIVE_ASSETS[:2]
    )
    keys = [a.key for a in selection]
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
    key = content_key(
        vs, repo, arrivals.head, [p for p in arrivals.paths if p.endswith(".parquet")]
    )
    requests = []
    if len(new) > 1:  # new partitions are added in this order, so they form one range
        requests.append(
            dg.RunRequest(
                run_key=f"upload-{key}-{new[0]}-{new[-1]}",
                asset_selection=keys,
                tags={**tags, _RANGE_START: new[0], _RANGE_END: new[-1]},
            )
        )
    elif new:
        requests.append(
            dg.RunRequest(
                run_key=f"upload-{key}-{new[0]}",
                asset_selection=keys,
                partition_key=new[0],
                tags=tags,
            )
        )
    for drive in arrived:  # re-uploads of known drives: one run each
        if drive in known and not _ingested(vs, repo, store.main_branch, arrivals.head, drive):
            requests.append(
                dg.RunRequest(
                    run_key=f"upload-{key}-{drive}",
                    asset_selection=keys,
                    partition_key=drive,
                    tags=tags,
                )
            )
    point("fleet_upload_sensor:requested")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[drives.build_add_request(new)] if new else [],
        cursor=arrivals.head,
    )


def _ingested(vs, repo: str, main: str, head: str, drive: str) -> bool:
    """Whether main holds this very upload of `drive` already: a tick replayed from scratch
    (a lost or reset cursor) sees every drive again, under keys the first runs did not use."""
    uploaded = vs.stat(repo, head, f"{DRIVE_UPLOADS}{drive}.parquet").checksum
    try:
        return vs.stat(repo, main, drive_path(drive)).checksum == uploaded
    except NotFoundError:
        return False


@dg.sensor(
    name=LABEL_BATCH_SENSOR,
    asset_selection=[label_sets],
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A label batch committed on the landing branch → one label_sets run for it.",
)
def label_batch_sensor(
    context: dg.SensorEvaluationContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
):
    vs, repo = store.ensure_repository(), store.repository
    ensure_landing(vs, repo, store.main_branch)
    arrivals = arrivals_since(vs, repo, context.cursor, LABEL_UPLOADS)
    batches = _batches(arrivals.paths)
    known = set(context.instance.get_dynamic_partitions(label_batches.name))
    new = [b for b in batches if b not in known]
    for batch in batches:
        context.log.info(f"label batch {batch} landed in commit {arrivals.head[:12]}")
    files = {
        batch: [p for p in arrivals.paths if p.startswith(f"{LABEL_UPLOADS}{batch}/")]
        for batch in batches
    }
    retries = _retries(context, vs, repo, arrivals.head, catalog, known)
    requests = [
        dg.RunRequest(
            run_key=f"labels-{batch}-{content_key(vs, repo, arrivals.head, files[batch])}",
            partition_key=batch,
            tags={LANDING_COMMIT_TAG: arrivals.head},
        )
        for batch in batches
        if batch not in retries
    ] + list(retries.values())
    point("label_batch_sensor:requested")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[label_batches.build_add_request(new)] if new else [],
        cursor=arrivals.head,
    )


def _batches(paths: list[str]) -> list[str]:
    return sorted(
        {p[len(LABEL_UPLOADS) :].split("/", 1)[0] for p in paths if "/" in p[len(LABEL_UPLOADS) :]}
    )


def _retries(
    context, vs, repo: str, head: str, catalog, known: set[str]
) -> dict[str, dg.RunRequest]:
    """A run for each batch the sensor launched whose runs all failed before the catalog
    recorded it (a killed worker, a locked catalog): its run key is spent, so without this it
    would never be published or rejected. At most `LABEL_RETRIES` retries a batch."""
    recorded = {b.batch_id for b in catalog.open().label_batches()}
    requests = {}
    for batch in sorted(known - recorded):
        runs = context.instance.get_runs(
            dg.RunsFilter(tags={_PARTITION: batch, _SENSOR: LABEL_BATCH_SENSOR})
        )
        if not runs or not all(r.status == dg.DagsterRunStatus.FAILURE for r in runs):
            continue  # not launched by this sensor (a manual run), or a run still going
        if any(r.is_complete_and_waiting_to_retry for r in runs):
            continue  # the daemon's run retries will run it again (a crashed worker)
        if len(runs) > LABEL_RETRIES:
            context.log.error(f"label batch {batch}: {len(runs)} runs failed; not retrying")
            continue
        paths = [f"{LABEL_UPLOADS}{batch}/{name}" for name in LABEL_BATCH_FILES]
        present = [p for p in paths if vs.exists(repo, head, p)]
        content = content_key(vs, repo, head, present)
        requests[batch] = dg.RunRequest(
            run_key=f"labels-{batch}-{content}-retry{len(runs)}",
            partition_key=batch,
            tags={LANDING_COMMIT_TAG: head},
        )
    return requests


def drive_ranges(keys: list[str], size: int) -> list[tuple[str, str]]:
    """`keys` (in partition order) cut into consecutive ranges of at most `size`."""
    return [(keys[i], keys[min(i + size, len(keys)) - 1]) for i in range(0, len(keys), size)]


@dg.sensor(
    name="deployed_model_sensor",
    asset_selection=PREDICTION_ASSETS,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="The registry alias `production` moved → observe deployed_model and "
    f"re-predict the fleet, {DRIVES_PER_RUN} drives a run.",
)
def deployed_model_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource, detector: DetectorResource
):
    # cursor: "<moves>:<version>", the alias moves seen so far and the version it names now;
    # run keys carry the move number, so rolling back to an earlier version re-predicts too
    moves, _, seen = (context.cursor or "0:").partition(":")
    version = deployed_version(catalog, detector)
    if version == seen or version == NOT_DEPLOYED:
        return dg.SensorResult(cursor=context.cursor)
    move = int(moves) + 1 if moves.isdigit() else 1
    keys = context.instance.get_dynamic_partitions(drives.name)
    return dg.SensorResult(
        asset_events=[dg.AssetObservation(DEPLOYED_MODEL, tags={_DATA_VERSION: version})],
        run_requests=[
            dg.RunRequest(
                run_key=f"repredict-{move}-{version}-{start}-{end}",
                tags={_RANGE_START: start, _RANGE_END: end, "fleetloop/model_version": version},
            )
            for start, end in drive_ranges(keys, DRIVES_PER_RUN)
        ],
        cursor=f"{move}:{version}",
    )
