"""`fleet_logs` and `frames`, one partition per drive: raw logs as uploaded, and their frames
(metadata and image references, no pixels)."""

import os
from collections import Counter

import dagster as dg
import polars as pl

from assets.fleet.ingest import (
    Upload,
    frames_of,
    metadata_columns,
    newer_on_main,
    read_drive_log,
)
from assets.publishing import open_run
from assets.results import commit_docs, docs_linked, published
from quality.checks import (
    DRIVE_LOGS_CHECK,
    FRAMES_CHECK,
    check_drive_logs,
    check_frames,
    unreadable_result,
)
from resources.landing import (
    DRIVE_UPLOADS,
    LANDING_BRANCH,
    LANDING_COMMIT_KEY,
    LANDING_COMMIT_TAG,
    read_upload,
)
from resources.layout import docs_prefix, drive_path, frames_path
from resources.storage import read_table
from resources.store_resource import VersionedStoreResource
from resources.versioning import MergeConflictError, ObjectNotFoundError

drives = dg.DynamicPartitionsDefinition(name="drives")
# Drives per run in a backfill (a new deployed model re-predicting the fleet): those runs run
# side by side (the run queue's concurrency here, pods on a cluster). Every drive-partitioned
# asset shares the policy, so one run can carry several of them over a range of drives.
DRIVES_PER_RUN = int(os.environ.get("FLEETLOOP_DRIVES_PER_RUN", "200") or 200)
DRIVE_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=DRIVES_PER_RUN)


@dg.asset(
    partitions_def=drives,
    backfill_policy=DRIVE_BACKFILL,
    group_name="fleet",
    kinds={"parquet", "lakefs"},
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            DRIVE_LOGS_CHECK,
            asset="fleet_logs",
            blocking=True,
            description="GX suite drive_log: schema, unique frames, known weather, plausible "
            "values, real PNGs; a failing upload never reaches main",
        )
    ],
)
def fleet_logs(context: dg.AssetExecutionContext, store: VersionedStoreResource):
    """Raw drive logs as uploaded by the fleet (`raw/drives/<drive>.parquet`).

    One run takes one upload (a landing commit) whole: every drive of it is validated, and
    only if all pass are they merged into main together.
    """
    drive_ids = list(context.partition_keys)
    label = partition_label(context)
    run = open_run(store, context.run.run_id, "fleet_logs", partition=label)
    vs, repo = run.store, run.repository
    landing = vs.resolve(repo, context.run.tags.get(LANDING_COMMIT_TAG) or LANDING_BRANCH)

    upload, raw = Upload(), {}
    for drive in drive_ids:
        try:
            path = f"{DRIVE_UPLOADS}{drive}.parquet"
            raw[drive] = read_upload(vs, repo, landing, path)
            upload.logs[drive] = read_drive_log(raw[drive], path)
        except ObjectNotFoundError:
            upload.unreadable[drive] = f"not in the upload at landing ref {landing[:12]}"
        except ValueError as error:
            upload.unreadable[drive] = str(error)
    # runs of two uploads of a drive can finish in either order: the later upload wins
    newer = newer_on_main(vs, repo, run.main, drive_ids, landing)
    for drive, theirs in sorted(newer.items()):
        context.log.info(
            f"drive {drive}: main holds the later upload of landing {theirs[:12]}; the log "
            f"of landing {landing[:12]} is not published"
        )
    for drive, data in raw.items():
        if drive not in newer:
            run.put(
                drive_path(drive),
                data,
                content_type="application/vnd.apache.parquet",
                metadata={LANDING_COMMIT_KEY: landing},
            )

    result, validation, docs = None, None, None
    if upload.logs:
        result, validation = check_drive_logs(upload.table())
    if newer and set(newer) >= set(drive_ids):  # nothing of this upload is still the latest
        vs.delete_branch(repo, run.name)
        yield (
            result if result is not None else unreadable_result(DRIVE_LOGS_CHECK, upload.unreadable)
        )
        return
    if validation is not None:
        docs = commit_docs(run, docs_prefix("fleet_logs", label), validation)
    passed = not upload.unreadable and result is not None and result.passed
    commit = run.commit(
        f"fleet_logs: upload of {len(drive_ids)} drive(s) from landing {landing[:12]}",
        passed=passed,
        metadata={"drives": ",".join(drive_ids), "landing_commit": landing},
    )
    try:
        publication = run.publish(commit, passed, f"publish fleet_logs {label}")
    except MergeConflictError:
        if not newer_on_main(vs, repo, run.main, drive_ids, landing):
            raise
        context.log.info(  # a later upload of these drives was published while we checked
            f"a later upload of {label} reached main first; landing {landing[:12]} is not "
            f"published (store branch {run.name!r})"
        )
        yield result
        return
    if upload.unreadable:
        check = unreadable_result(DRIVE_LOGS_CHECK, upload.unreadable)
        if validation is not None:
            check = check.with_metadata({**check.metadata, **result.metadata})
    else:
        check = result
    if docs is not None:
        check = docs_linked(check, run, commit, docs)
    if publication.passed:
        logs = upload.logs.values()
        weather = Counter(w for log in logs for w in log.get_column("weather").to_list())
        yield published(
            publication,
            repo,
            [drive_path(d) for d in drive_ids],
            {
                "drives": dg.MetadataValue.int(len(drive_ids)),
                "frames": dg.MetadataValue.int(sum(log.height for log in logs)),
                "weather": dg.MetadataValue.json(dict(weather)),
                "landing_commit": dg.MetadataValue.text(landing),
            },
        )
    else:
        context.log.error(
            f"upload rejected; inspect store branch {run.name!r}: {check.description}"
        )
        # a drive never published is not part of the fleet: its partition goes, so nothing
        # waits for its frames (a fixed re-upload adds it again)
        for drive in drive_ids:
            if not vs.exists(repo, run.base, drive_path(drive)):
                context.instance.delete_dynamic_partition(drives.name, drive)
    yield check


@dg.asset(
    deps=[fleet_logs],
    partitions_def=drives,
    backfill_policy=DRIVE_BACKFILL,
    group_name="fleet",
    kinds={"polars", "parquet", "lakefs"},
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            FRAMES_CHECK,
            asset="frames",
            blocking=True,
            description="GX suite frames: one row per frame, known values, image references",
        )
    ],
)
def frames(context: dg.AssetExecutionContext, store: VersionedStoreResource):
    """One row per frame of a drive, with a reference to its image
    (`frames/drives/<drive>.parquet`): the table slices are cut from, read across drives.

    A run writes only its own drives' partitions, so a new drive costs the same whatever the
    size of the fleet."""
    run = open_run(store, context.run.run_id, "frames", partition=partition_label(context))
    vs, repo = run.store, run.repository
    tables = {}
    for drive in context.partition_keys:
        log = read_table(vs, repo, run.base, drive_path(drive), metadata_columns())
        tables[drive] = frames_of(log, drive_path(drive))
        run.put_table(frames_path(drive), tables[drive])
    table = pl.concat(list(tables.values())) if tables else pl.DataFrame()
    result, validation = check_frames(table)
    docs = commit_docs(run, docs_prefix("frames", partition_label(context)), validation)
    commit = run.commit(
        f"frames of {len(tables)} drive(s)",
        passed=result.passed,
        metadata={"source_commit": run.base, "drives": str(len(tables))},
    )
    publication = run.publish(commit, result.passed, f"publish frames of {len(tables)} drive(s)")
    if publication.passed:
        counts = table.group_by("weather").len().rows() if table.height else []
        yield published(
            publication,
            repo,
            [frames_path(d) for d in tables],
            {
                "frames": dg.MetadataValue.int(table.height),
                "drives": dg.MetadataValue.int(len(tables)),
                "weather": dg.MetadataValue.json(dict(counts)),
                "source_commit": dg.MetadataValue.text(run.base),
            },
        )
    yield docs_linked(result, run, commit, docs)


def partition_label(context: dg.AssetExecutionContext) -> str:
    """`d0007`, or `d0001-to-d0350` for a run over a range of drives: names a run's branch."""
    keys = list(context.partition_keys)
    return keys[0] if len(keys) == 1 else f"{keys[0]}-to-{keys[-1]}"
