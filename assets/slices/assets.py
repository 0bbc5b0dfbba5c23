"""One asset per slice declaration (`<name>_slice`), writing `slices/<name>.parquet`.

The asset's code version is the hash of its declaration, so editing a declaration makes
declarative automation rematerialize that slice and everything downstream of it (the
labeling queue, and the training set, candidate, report and gate), nothing upstream or
beside it. A slice reads the fleet across drive partitions lazily: a scan of the partition
files, never one table rebuilt per upload.
"""

from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.automation import after_upstream_or_code_change
from assets.markdown import table_md
from assets.mining.registry import SIGNAL_TABLE
from assets.mining.signals import label_errors
from assets.publishing import open_run
from assets.results import published
from assets.slices.declarations import LabelReview, Similarity, SliceSpec
from assets.slices.selection import select
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import (
    EMBEDDINGS_PREFIX,
    FRAMES_PREFIX,
    MANIFEST_PATH,
    PREDICTIONS_PREFIX,
    SIGNALS_PREFIX,
    TRAINING_LABELS_PATH,
    slice_path,
)
from resources.storage import read_table, scan_tables
from resources.store_resource import VersionedStoreResource
from resources.tables import FRAMES, PREDICTIONS
from resources.versioning import VersionedStore

FRAME_COLUMNS = ["frame_id", "weather", "time_of_day", "drive_id"]


def label_error_table(
    store: VersionedStore, repo: str, ref: str, frames: pl.DataFrame, model_commit: str
) -> pl.DataFrame:
    """(frame_id, label_error) over the deployed model's own training frames, from its fleet
    predictions: labels it contradicts, calibrated per weather."""
    manifest = read_table(store, repo, model_commit, MANIFEST_PATH)
    labels = read_table(store, repo, model_commit, TRAINING_LABELS_PATH)
    train_ids = manifest.filter(pl.col("split") == "train").get_column("frame_id").to_list()
    predictions = (
        scan_tables(store, repo, ref, PREDICTIONS_PREFIX, PREDICTIONS)
        .filter(pl.col("frame_id").is_in(train_ids))
        .collect()
    )
    context = frames.select("frame_id", "weather")
    scores = label_errors(labels, predictions, train_ids, context=context)
    return scores.select("frame_id", pl.col("score").alias("label_error"))


def build_slice_asset(spec: SliceSpec) -> dg.AssetsDefinition:
    spec.validate()
    deps = ["frames"]
    if spec.needs_model or spec.needs_flags:
        # cut once per deployed model, after its whole re-prediction (detections, then
        # signals, in the same runs): every such slice asks in the same labeling request,
        # and the flags read then include those operators made while the fleet re-ran
        deps += ["fleet_predictions", "fleet_signals"]

    @dg.asset(
        name=spec.asset_name,
        deps=deps,
        group_name="slices",
        kinds={"polars", "parquet", "lakefs"},
        code_version=spec.code_version,
        automation_condition=after_upstream_or_code_change(),
        description=spec.description,
        metadata={
            "role": spec.role,
            "target_size": spec.target_size,
            "selection": str(spec.selection),
        },
        tags={"fleetloop/slice_role": spec.role},
    )
    def _slice(
        context: dg.AssetExecutionContext,
        store: VersionedStoreResource,
        catalog: CatalogResource,
        detector: DetectorResource,
    ):
        run = open_run(store, context.run.run_id, spec.asset_name)
        vs, repo, base = run.store, run.repository, run.base
        frames = scan_tables(vs, repo, base, FRAMES_PREFIX, FRAMES).select(FRAME_COLUMNS).collect()
        predictions = (
            scan_tables(vs, repo, base, PREDICTIONS_PREFIX, PREDICTIONS).collect()
            if spec.needs_predictions
            else None
        )
        signals = (
            scan_tables(vs, repo, base, SIGNALS_PREFIX, SIGNAL_TABLE).collect()
            if spec.needs_signals
            else None
        )
        if isinstance(spec.selection, LabelReview):
            production = catalog.open().alias(detector.name, "production")
            signals = (
                label_error_table(vs, repo, base, frames, production.commit)
                if production is not None
                else pl.DataFrame(schema={"frame_id": pl.String, "label_error": pl.Float32})
            )
        embeddings = (
            scan_tables(vs, repo, base, EMBEDDINGS_PREFIX, None).collect()
            if isinstance(spec.selection, Similarity)
            else None
        )
        flagged = (
            [f.frame_id for f in catalog.open().flags()]  # oldest first
            if spec.needs_flags
            else None
        )
        chosen = select(
            spec, frames, predictions, flagged=flagged, signals=signals, embeddings=embeddings
        )
        path = slice_path(spec.name)
        run.put_table(path, chosen)
        commit = run.commit(
            f"slice {spec.name}: {chosen.height} candidates",
            passed=True,
            metadata={"slice": spec.name, "code_version": spec.code_version},
        )
        publication = run.publish(commit, True, f"publish slice {spec.name}")
        return published(
            publication,
            repo,
            [path],
            {
                "candidates": dg.MetadataValue.int(chosen.height),
                "target_size": dg.MetadataValue.int(spec.target_size),
                "preview": dg.MetadataValue.md(table_md(chosen, max_rows=10)),
            },
        )

    return _slice


def build_slice_assets(specs: Sequence[SliceSpec]) -> list[dg.AssetsDefinition]:
    return [build_slice_asset(spec) for spec in specs]
