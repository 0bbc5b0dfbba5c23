"""`fleet_predictions`: the deployed model run over the frames of each drive partition."""

import os
from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl

from assets.fleet.assets import DRIVE_BACKFILL, drives, partition_label
from assets.fleet.images import load_images
from assets.models import StoredModel
from assets.publishing import open_run
from assets.results import commit_docs, docs_linked, published
from quality.checks import PREDICTIONS_CHECK, check_predictions
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import (
    challenger_predictions_path,
    docs_prefix,
    embeddings_path,
    frames_path,
    predictions_path,
)
from resources.storage import read_table
from resources.store_resource import VersionedStoreResource
from resources.tables import CLASSES, PREDICTIONS
from resources.versioning import VersionedStore

BATCH = 1024
PREDICT_THREADS = int(os.environ.get("FLEETLOOP_PREDICT_THREADS", "1") or 1)


def embedding_table(frame_ids: pl.Series, vectors: list[np.ndarray]) -> pl.DataFrame:
    """(frame_id, embedding) with a fixed-width float32 array column."""
    matrix = np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, 1), np.float32)
    return pl.DataFrame(
        {"frame_id": frame_ids, "embedding": matrix},
        schema={"frame_id": pl.String, "embedding": pl.Array(pl.Float32, matrix.shape[1])},
    )


@dataclass(frozen=True)
class FramePredictions:
    """What `predict_frames` saw: detections (`PREDICTIONS`, low-confidence ones included),
    with `embed` the (frame_id, embedding) table, with a challenger its detections."""

    predictions: pl.DataFrame
    embeddings: pl.DataFrame | None = None
    challenger: pl.DataFrame | None = None


def predict_frames(
    store: VersionedStore,
    repo: str,
    ref: str,
    frames: pl.DataFrame,
    model,
    *,
    embed: bool = False,
    challenger=None,
) -> FramePredictions:
    """`model`'s predictions on `frames` (and `challenger`'s on the same pixels); the images
    are decoded once, `BATCH` at a time."""
    from resources.detection import predictions_table  # torch: imported when used

    parts, vectors, second = [], [], []
    for start in range(0, frames.height, BATCH):
        chunk = frames.slice(start, BATCH)
        ids = chunk.get_column("frame_id").to_list()
        images = load_images(store, repo, ref, chunk)
        if embed:
            detections, batch_vectors = model.predict_and_embed(images)
            vectors.append(batch_vectors)
        else:
            detections = model.predict(images)
        parts.append(predictions_table(ids, detections, CLASSES))
        if challenger is not None:
            second.append(predictions_table(ids, challenger.predict(images), CLASSES))
    empty = pl.DataFrame(schema=PREDICTIONS)
    return FramePredictions(
        predictions=pl.concat(parts) if parts else empty,
        embeddings=embedding_table(frames.get_column("frame_id"), vectors) if embed else None,
        challenger=(pl.concat(second) if second else empty) if challenger is not None else None,
    )


@dg.asset(
    deps=["frames", "deployed_model"],
    partitions_def=drives,
    backfill_policy=DRIVE_BACKFILL,
    group_name="mining",
    kinds={"pytorch", "parquet", "lakefs"},
    check_specs=[
        dg.AssetCheckSpec(
            PREDICTIONS_CHECK,
            asset="fleet_predictions",
            description="GX suite predictions: boxes inside the image, known classes, "
            "confidence in [0, 1] (warns only)",
        )
    ],
)
def fleet_predictions(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    """A drive's detections by the deployed model, low-confidence ones included
    (`predictions/fleet/detections/<drive>.parquet`), its embedding of every frame
    (`…/embeddings/<drive>.parquet`) and the detections of the challenger trained with it
    (`…/challenger/<drive>.parquet`): what the signals, the model-signal and similarity
    slices and the drift report read."""
    production = catalog.open().alias(detector.name, "production")
    if production is None:
        raise dg.Failure("no model deployed yet: promote a candidate first")
    run = open_run(store, context.run.run_id, "fleet_predictions", partition_label(context))
    vs, repo = run.store, run.repository
    import torch  # imported when used

    # the runs of a re-prediction run side by side, one per core: more threads each would
    # only make them fight over the cores
    torch.set_num_threads(PREDICT_THREADS)
    stored = StoredModel(detector.name, production.version, production.commit)
    model, challenger = stored.load(vs, repo), stored.load_challenger(vs, repo)
    if challenger is None:
        context.log.warning(
            f"{production.version} has no challenger: fleet_signals cannot score disagreement"
        )
    drive_ids = list(context.partition_keys)
    frames = pl.concat([read_table(vs, repo, run.base, frames_path(d)) for d in drive_ids])
    seen = predict_frames(vs, repo, run.base, frames, model, embed=True, challenger=challenger)
    written = []
    for drive in drive_ids:
        ids = frames.filter(pl.col("drive_id") == drive).select("frame_id")
        for path, table in (
            (predictions_path(drive), seen.predictions),
            (embeddings_path(drive), seen.embeddings),
            (challenger_predictions_path(drive), seen.challenger),
        ):
            if table is None:
                run.remove(path)  # never the previous model's challenger
                continue
            run.put_table(path, table.join(ids, on="frame_id", how="semi"))
            written.append(path)
    width, height = int(frames["width"].max()), int(frames["height"].max())
    result, validation = check_predictions(seen.predictions, image_width=width, image_height=height)
    docs = commit_docs(run, docs_prefix("fleet_predictions", partition_label(context)), validation)
    commit = run.commit(
        f"fleet_predictions of {len(drive_ids)} drive(s) by {detector.name} {production.version}",
        passed=True,  # the predictions check warns; it protects nothing downstream
        metadata={"model_version": production.version, "source_commit": run.base},
    )
    publication = run.publish(commit, True, f"publish fleet_predictions by {production.version}")
    yield published(
        publication,
        repo,
        written,
        {
            "model_version": dg.MetadataValue.text(production.version),
            "drives": dg.MetadataValue.int(len(drive_ids)),
            "frames": dg.MetadataValue.int(frames.height),
            "detections": dg.MetadataValue.int(seen.predictions.height),
            "challenger_detections": dg.MetadataValue.int(
                seen.challenger.height if seen.challenger is not None else 0
            ),
            "embedding_dims": dg.MetadataValue.int(seen.embeddings["embedding"].dtype.size),
        },
    )
    yield docs_linked(result, run, commit, docs)
