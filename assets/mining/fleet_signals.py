"""`fleet_signals`: where the production model is probably wrong, per fleet frame, no labels.

Reads the production model's `fleet_predictions` and scores every frame with the signals of
`assets.mining.signals`: `low_confidence` (detections in the uncertain band), `flicker`
(detections inconsistent across consecutive frames of a drive), `disagreement` (the
challenger, a second detector `candidate_model` trained differently on the same frames, sees
something else) and, on the labeled training frames, `label_error` (a label the model
contradicts: a candidate for relabeling).
Signal slices rank frames by these columns. Two warning checks say how often the model
flickers and how often the two detectors disagree.
"""

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.markdown import table_md
from assets.mining.signals import disagreement, flicker, label_errors, low_confidence
from assets.paths import (
    CHALLENGER_PREDICTIONS_PATH,
    FRAMES_PATH,
    MANIFEST_PATH,
    PREDICTIONS_PATH,
    SIGNALS_PATH,
    TRAINING_LABELS_PATH,
)
from assets.publishing import RunBranch
from assets.results import published
from assets.storage import read_table
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.store_resource import VersionedStoreResource

FLEET_SIGNALS = ("low_confidence", "disagreement", "flicker", "label_error")
FLICKER_CHECK = "detections_steady_over_time"
DISAGREEMENT_CHECK = "detectors_agree"
# a frame counts as flickering / disputed when its score reaches this (one confident
# detection unsupported by its neighbours, or by the other model, weighs about its confidence)
HIT = 0.5
MAX_FLICKER_SHARE = 0.05
MAX_DISAGREEMENT_SHARE = 0.10


def signal_table(
    frames: pl.DataFrame,
    predictions: pl.DataFrame,
    challenger_predictions: pl.DataFrame | None,
    labels: pl.DataFrame,
    train_ids: list[str],
) -> pl.DataFrame:
    """One row per fleet frame: frame_id and a score column per signal (0 = nothing seen;
    disagreement is 0 everywhere without a challenger)."""
    ids = frames.get_column("frame_id").to_list()
    context = frames.select("frame_id", "weather")
    columns = {
        "low_confidence": low_confidence(predictions, ids),
        "flicker": flicker(predictions, frames),
        "label_error": label_errors(labels, predictions, train_ids, context=context),
    }
    if challenger_predictions is not None:
        columns["disagreement"] = disagreement(predictions, challenger_predictions, ids)
    table = frames.select("frame_id")
    for name in FLEET_SIGNALS:
        scores = columns.get(name)
        if scores is None:
            table = table.with_columns(pl.lit(0.0, pl.Float32).alias(name))
        else:
            table = table.join(
                scores.select("frame_id", pl.col("score").cast(pl.Float32).alias(name)),
                on="frame_id",
                how="left",
            ).with_columns(pl.col(name).fill_null(0.0))
    return table


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
    deps=["fleet_predictions", "frames"],
    group_name="mining",
    kinds={"polars", "lakefs"},
    automation_condition=after_upstream(),
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
            "production model and a differently trained challenger disagree; warns only",
        ),
    ],
)
def fleet_signals(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    """Per fleet frame, how likely the production model is wrong there
    (`predictions/fleet/signals.parquet`: low_confidence, disagreement, flicker, label_error),
    from `fleet_predictions`: the production model's detections and those of the challenger
    trained with it (narrower, another seed, a bootstrap resample of the same frames)."""
    vs, repo = store.ensure_repository(), store.repository
    production = catalog.open().alias(detector.name, "production")
    if production is None:
        raise dg.Failure("no production model yet: promote a candidate first")
    run = RunBranch(vs, repo, context.run.run_id, "fleet_signals")
    frames = read_table(vs, repo, run.base, FRAMES_PATH)
    predictions = read_table(vs, repo, run.base, PREDICTIONS_PATH)
    challenger = (
        read_table(vs, repo, run.base, CHALLENGER_PREDICTIONS_PATH)
        if vs.exists(repo, run.base, CHALLENGER_PREDICTIONS_PATH)
        else None
    )
    # the production model's own training data, as it was when it was trained
    manifest = read_table(vs, repo, production.commit, MANIFEST_PATH)
    labels = read_table(vs, repo, production.commit, TRAINING_LABELS_PATH)
    train_ids = manifest.filter(pl.col("split") == "train").get_column("frame_id").to_list()
    table = signal_table(frames, predictions, challenger, labels, train_ids)
    run.put_table(SIGNALS_PATH, table)
    commit = run.commit(
        f"fleet_signals for {detector.name} {production.version}",
        passed=True,  # the signals warn; they protect nothing downstream
        metadata={"model_version": production.version, "source_commit": run.base},
    )
    publication = run.publish(commit, True, "publish fleet_signals")
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
        [SIGNALS_PATH],
        {
            "model_version": dg.MetadataValue.text(production.version),
            "challenger": dg.MetadataValue.bool(challenger is not None),
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
    if challenger is None:
        yield dg.AssetCheckResult(
            check_name=DISAGREEMENT_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{production.version} was trained without a challenger: "
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
