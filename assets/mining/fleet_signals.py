"""`fleet_signals`: where the production model is probably wrong, per fleet frame, no labels.

Reads the production model's `fleet_predictions` and scores every frame with the signals of
`assets.mining.signals`: `low_confidence` (detections in the uncertain band), `flicker`
(detections inconsistent across consecutive frames of a drive), `disagreement` (a second,
differently trained detector, the challenger, sees something else) and, on the labeled
training frames, `label_error` (a label the model contradicts: a candidate for relabeling).
Signal slices rank frames by these columns. Two warning checks say how often the model
flickers and how often the two detectors disagree.
"""

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.fleet.images import load_images
from assets.markdown import table_md
from assets.mining.assets import predict_frames
from assets.mining.signals import (
    Challenger,
    disagreement,
    flicker,
    label_errors,
    low_confidence,
    train_challenger,
)
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
from resources.tables import CLASSES

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
    challenger_predictions: pl.DataFrame,
    labels: pl.DataFrame,
    train_ids: list[str],
) -> pl.DataFrame:
    """One row per fleet frame: frame_id and a score column per signal (0 = nothing seen)."""
    ids = frames.get_column("frame_id").to_list()
    context = frames.select("frame_id", "weather")
    columns = {
        "low_confidence": low_confidence(predictions, ids),
        "disagreement": disagreement(predictions, challenger_predictions, ids),
        "flicker": flicker(predictions, frames),
        "label_error": label_errors(labels, predictions, train_ids, context=context),
    }
    table = frames.select("frame_id")
    for name, scores in columns.items():
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
    kinds={"pytorch", "polars", "lakefs"},
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
    and the challenger's predictions (`predictions/fleet/challenger.parquet`). The challenger
    is narrower, trained for 10 epochs (half the detector's default) on a bootstrap resample of
    the production model's training frames, with another seed."""
    from resources.detection import targets_from_boxes  # torch: imported when used

    vs, repo = store.ensure_repository(), store.repository
    production = catalog.open().alias(detector.name, "production")
    if production is None:
        raise dg.Failure("no production model yet: promote a candidate first")
    run = RunBranch(vs, repo, context.run.run_id, "fleet_signals")
    frames = read_table(vs, repo, run.base, FRAMES_PATH)
    predictions = read_table(vs, repo, run.base, PREDICTIONS_PATH)
    # the production model's own training data, as it was when it was trained
    manifest = read_table(vs, repo, production.commit, MANIFEST_PATH)
    labels = read_table(vs, repo, production.commit, TRAINING_LABELS_PATH)
    train_ids = manifest.filter(pl.col("split") == "train").get_column("frame_id").to_list()
    train_frames = frames.join(
        pl.DataFrame({"frame_id": train_ids}, schema={"frame_id": pl.String}),
        on="frame_id",
        how="semi",
    )
    # 10 epochs (half the detector's default): shorter challengers found almost nothing, and
    # disagreement degenerated into ranking by the production model's own detections
    # (`python -m bench.signals --quick --compare-challengers`)
    epochs = min(Challenger.epochs, detector.epochs or Challenger.epochs)
    challenger = Challenger(epochs=epochs, seed=detector.seed + 1)
    images = load_images(vs, repo, run.base, train_frames)
    targets = targets_from_boxes(train_frames.get_column("frame_id").to_list(), labels, CLASSES)
    model, fit = train_challenger(images, targets, challenger, detector=detector.model)
    context.log.info(f"challenger trained in {fit['seconds']:.1f} s on {len(images)} frames")
    del images
    challenger_predictions, _ = predict_frames(vs, repo, run.base, frames, model)
    table = signal_table(frames, predictions, challenger_predictions, labels, train_ids)
    run.put_table(SIGNALS_PATH, table)
    run.put_table(CHALLENGER_PREDICTIONS_PATH, challenger_predictions)
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
        [SIGNALS_PATH, CHALLENGER_PREDICTIONS_PATH],
        {
            "model_version": dg.MetadataValue.text(production.version),
            "challenger": dg.MetadataValue.json(
                {k: fit[k] for k in ("width", "epochs", "bootstrap", "seed") if k in fit}
            ),
            "challenger_train_seconds": dg.MetadataValue.float(round(fit["seconds"], 1)),
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
    yield share_check(
        DISAGREEMENT_CHECK,
        table,
        "disagreement",
        MAX_DISAGREEMENT_SHARE,
        "disputed_share",
        "the detectors disagree on {share:.1%} of frames (limit {limit:.0%})",
    )
