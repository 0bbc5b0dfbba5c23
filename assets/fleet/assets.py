"""`fleet_logs` (one partition per drive) and `frames` (the fleet as one table, no pixels)."""

from collections import Counter

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.fleet.ingest import Upload, frames_of, metadata_columns, read_drive_log
from assets.landing import DRIVE_UPLOADS, LANDING_BRANCH, LANDING_COMMIT_TAG
from assets.paths import DRIVE_PREFIX, FRAMES_PATH, docs_prefix, drive_path
from assets.publishing import RunBranch
from assets.results import commit_docs, docs_linked, published
from assets.storage import list_paths, read_table
from quality.checks import (
    DRIVE_LOGS_CHECK,
    FRAMES_CHECK,
    check_drive_logs,
    check_frames,
    unreadable_result,
)
from resources.store_resource import VersionedStoreResource
from resources.versioning import ObjectNotFoundError

drives = dg.DynamicPartitionsDefinition(name="drives")


@dg.asset(
    partitions_def=drives,
    backfill_policy=dg.BackfillPolicy.single_run(),
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
    vs, repo = store.ensure_repository(), store.repository
    landing = context.run.tags.get(LANDING_COMMIT_TAG) or LANDING_BRANCH
    drive_ids = list(context.partition_keys)
    label = drive_ids[0] if len(drive_ids) == 1 else f"{drive_ids[0]}-to-{drive_ids[-1]}"
    run = RunBranch(vs, repo, context.run.run_id, "fleet_logs", partition=label)

    upload, raw = Upload(), {}
    for drive in drive_ids:
        try:
            raw[drive] = vs.get(repo, landing, f"{DRIVE_UPLOADS}{drive}.parquet")
            upload.logs[drive] = read_drive_log(raw[drive])
        except ObjectNotFoundError:
            upload.unreadable[drive] = f"not in the upload at landing ref {landing[:12]}"
        except ValueError as error:
            upload.unreadable[drive] = str(error)
    for drive, data in raw.items():
        run.put(drive_path(drive), data, content_type="application/vnd.apache.parquet")

    result, validation, docs = None, None, None
    if upload.logs:
        result, validation = check_drive_logs(upload.table())
        docs = commit_docs(run, docs_prefix("fleet_logs", label), validation)
    passed = not upload.unreadable and result is not None and result.passed
    commit = run.commit(
        f"fleet_logs: upload of {len(drive_ids)} drive(s) from landing {landing[:12]}",
        passed=passed,
        metadata={"drives": ",".join(drive_ids), "landing_commit": landing},
    )
    publication = run.publish(commit, passed, f"publish fleet_logs {label}")
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
    yield check


@dg.asset(
    deps=[fleet_logs],
    group_name="fleet",
    kinds={"polars", "parquet", "lakefs"},
    automation_condition=after_upstream(all_deps=False),
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
    """Every published frame of the fleet, one row each, with a reference to its image
    (`frames/frames.parquet`): the table slices are cut from."""
    vs, repo = store.ensure_repository(), store.repository
    run = RunBranch(vs, repo, context.run.run_id, "frames")
    paths = list_paths(vs, repo, run.base, DRIVE_PREFIX)
    table = (
        pl.concat(
            [frames_of(read_table(vs, repo, run.base, p, metadata_columns()), p) for p in paths]
        )
        if paths
        else pl.DataFrame()
    )
    run.put_table(FRAMES_PATH, table)
    result, validation = check_frames(table)
    docs = commit_docs(run, docs_prefix("frames"), validation)
    commit = run.commit(
        f"frames: {table.height} frames of {len(paths)} drives",
        passed=result.passed,
        metadata={"source_commit": run.base},
    )
    publication = run.publish(commit, result.passed, "publish frames")
    if publication.passed:
        counts = table.group_by("weather").len().rows() if table.height else []
        yield published(
            publication,
            repo,
            [FRAMES_PATH],
            {
                "frames": dg.MetadataValue.int(table.height),
                "drives": dg.MetadataValue.int(len(paths)),
                "weather": dg.MetadataValue.json(dict(counts)),
                "source_commit": dg.MetadataValue.text(run.base),
            },
        )
    yield docs_linked(result, run, commit, docs)
