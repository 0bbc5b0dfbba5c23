"""`fleet_signals`: where the deployed model is probably wrong, per drive partition, no labels.

Reads the deployed model's `fleet_predictions` of a drive and scores every frame with each
`fleet` signal of the registry (`assets/mining/registry.py`): `low_confidence` (detections in
the uncertain band), `flicker` (detections inconsistent across consecutive frames of the
drive), `disagreement` (the challenger, a second detector `candidate_model` trained
differently on the same frames, sees something else). Signal slices rank frames by these
columns. Two warning checks say how often the model flickers and how often the two detectors
disagree.
"""

import dagster as dg
import polars as pl

from assets.fleet.assets import DRIVE_BACKFILL, drives, partition_label
from assets.markdown import table_md
from assets.mining.registry import FLEET_SIGNALS, SIGNALS, DriveInputs
from assets.publishing import open_run
from assets.results import published
from resources.layout import (
    challenger_predictions_path,
    frames_path,
    predictions_path,
    signals_path,
)
from resources.storage import read_table
from resources.store_resource import VersionedStoreResource
from resources.versioning import VersionedStore

FLICKER_CHECK = "detections_steady_over_time"
DISAGREEMENT_CHECK = "detectors_agree"
# a frame counts as flickering / disputed when its score reaches this (one confident
# detection unsupported by its neighbours, or by the other model, weighs about its confidence)
HIT = 0.5
MAX_FLICKER_SHARE = 0.05
MAX_DISAGREEMENT_SHARE = 0.10


def signal_table(inputs: DriveInputs) -> pl.DataFrame:
    """One row per frame of the drive: frame_id and a score column per `fleet` signal (0 =
    nothing seen; disagreement is 0 everywhere without a challenger)."""
    table = inputs.frames.select("frame_id")
    for name in FLEET_SIGNALS:
        scores = SIGNALS[name].score(inputs)
        if scores is None:
            table = table.with_columns(pl.lit(0.0, pl.Float32).alias(name))
        else:
            table = table.join(
                scores.select("frame_id", pl.col("score").cast(pl.Float32).alias(name)),
                on="frame_id",
                how="left",
            ).with_columns(pl.col(name).fill_null(0.0))
    return table


def drive_inputs(store: VersionedStore, repo: str, ref: str, drive: str) -> DriveInputs:
    challenger = challenger_predictions_path(drive)
    return DriveInputs(
        frames=read_table(store, repo, ref, frames_path(drive)),
        predictions=read_table(store, repo, ref, predictions_path(drive)),
        challenger=read_table(store, repo, ref, challenger)
        if store.exists(repo, ref, challenger)
        else None,
    )


def share_check(
    check: str, table: pl.DataFrame, column: str, limit: float, key: str, description: str
) -> dg.AssetCheckResult:
    """A warning when more than `limit` of the frames score at least `HIT` on `column`;
    `description` is formatted with the share and the limit."""
    share = float((table.get_column(column) >= HIT).mean()) if table.height else 0.0
    return dg.AssetCheckResult(
        check_name=check,
        passed=share <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            key: dg.MetadataValue.float(round(share, 4)),
            "limit": dg.MetadataValue.float(limit),
            "frames": dg.MetadataValue.int(table.height),
        },
        description=description.format(share=share, limit=limit),
    )


@dg.asset(
    deps=["fleet_predictions"],
    partitions_def=drives,
    backfill_policy=DRIVE_BACKFILL,
    group_name="mining",
    kinds={"polars", "lakefs"},
    check_specs=[
        dg.AssetCheckSpec(
            FLICKER_CHECK,
            asset="fleet_signals",
            description=f"at most {MAX_FLICKER_SHARE:.0%} of fleet frames have a detection that "
            "appears or vanishes for one frame (ego-motion tracked); warns only",
        ),
        dg.AssetCheckSpec(
            DISAGREEMENT_CHECK,
            asset="fleet_signals",
            description=f"at most {MAX_DISAGREEMENT_SHARE:.0%} of fleet frames where the "
            "deployed model and a differently trained challenger disagree; warns only",
        ),
    ],
)
def fleet_signals(context: dg.AssetExecutionContext, store: VersionedStoreResource):
    """Per frame of a drive, how likely the deployed model is wrong there
    (`predictions/fleet/signals/<drive>.parquet`: one column per `fleet` signal of the
    registry), from that drive's `fleet_predictions`."""
    run = open_run(store, context.run.run_id, "fleet_signals", partition_label(context))
    vs, repo = run.store, run.repository
    tables, challenger = [], True
    for drive in context.partition_keys:
        inputs = drive_inputs(vs, repo, run.base, drive)
        challenger &= inputs.challenger is not None
        tables.append(signal_table(inputs))
        run.put_table(signals_path(drive), tables[-1])
    table = pl.concat(tables)
    commit = run.commit(
        f"fleet_signals of {len(tables)} drive(s)",
        passed=True,  # the signals warn; they protect nothing downstream
        metadata={"source_commit": run.base},
    )
    publication = run.publish(commit, True, f"publish fleet_signals of {len(tables)} drive(s)")
    summary = pl.DataFrame(
        {
            "signal": list(FLEET_SIGNALS),
            "frames_scored": [int((table[c] > 0).sum()) for c in FLEET_SIGNALS],
            f"frames_>=_{HIT}": [int((table[c] >= HIT).sum()) for c in FLEET_SIGNALS],
            "max": [round(float(table[c].max() or 0.0), 3) for c in FLEET_SIGNALS],
        }
    )
    yield published(
        publication,
        repo,
        [signals_path(d) for d in context.partition_keys],
        {
            "drives": dg.MetadataValue.int(len(tables)),
            "challenger": dg.MetadataValue.bool(challenger),
            "signals": dg.MetadataValue.md(table_md(summary)),
        },
    )
    yield share_check(
        FLICKER_CHECK,
        table,
        "flicker",
        MAX_FLICKER_SHARE,
        "flickering_share",
        "{share:.1%} of frames flicker (limit {limit:.0%})",
    )
    if not challenger:
        yield dg.AssetCheckResult(
            check_name=DISAGREEMENT_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="the deployed model was trained without a challenger: "
            "disagreement is not scored (retrain it to get one)",
        )
        return
    yield share_check(
        DISAGREEMENT_CHECK,
        table,
        "disagreement",
        MAX_DISAGREEMENT_SHARE,
        "disputed_share",
        "the detectors disagree on {share:.1%} of frames (limit {limit:.0%})",
    )
