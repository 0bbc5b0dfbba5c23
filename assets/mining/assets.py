"""`fleet_predictions`: the production model run over every frame of the fleet."""

from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl

from assets.automation import after_upstream
from assets.fleet.images import load_images
from assets.models import StoredModel
from assets.paths import (
    CHALLENGER_PREDICTIONS_PATH,
    EMBEDDINGS_PATH,
    FRAMES_PATH,
    PREDICTIONS_PATH,
    docs_prefix,
)
from assets.publishing import RunBranch
from assets.results import commit_docs, docs_linked, published
from assets.storage import read_table
from quality.checks import PREDICTIONS_CHECK, check_predictions
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.store_resource import VersionedStoreResource
from resources.tables import CLASSES, PREDICTIONS
from resources.versioning import VersionedStore

BATCH = 1024


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
    deps=["production_model", "frames"],
    group_name="mining",
    kinds={"pytorch", "parquet", "lakefs"},
    automation_condition=after_upstream(),
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
    """Every fleet frame's detections by the production model, low-confidence ones included
    (`predictions/fleet/predictions.parquet`), its embedding of every frame
    (`predictions/fleet/embeddings.parquet`) and the detections of the challenger trained
    with it (`predictions/fleet/challenger.parquet`): what the signals, the model-signal and
    similarity slices and the drift report read."""
    vs, repo = store.ensure_repository(), store.repository
    production = catalog.open().alias(detector.name, "production")
    if production is None:
        raise dg.Failure("no production model yet: promote a candidate first")
    run = RunBranch(vs, repo, context.run.run_id, "fleet_predictions")
    stored = StoredModel(detector.name, production.version, production.commit)
    model, challenger = stored.load(vs, repo), stored.load_challenger(vs, repo)
    if challenger is None:
        context.log.warning(
            f"{production.version} has no challenger: fleet_signals cannot score disagreement"
        )
    frames = read_table(vs, repo, run.base, FRAMES_PATH)
    seen = predict_frames(vs, repo, run.base, frames, model, embed=True, challenger=challenger)
    predictions, embeddings = seen.predictions, seen.embeddings
    run.put_table(PREDICTIONS_PATH, predictions)
    run.put_table(EMBEDDINGS_PATH, embeddings)
    written = [PREDICTIONS_PATH, EMBEDDINGS_PATH]
    if seen.challenger is not None:
        run.put_table(CHALLENGER_PREDICTIONS_PATH, seen.challenger)
        written.append(CHALLENGER_PREDICTIONS_PATH)
    else:
        run.remove(CHALLENGER_PREDICTIONS_PATH)  # never the previous model's challenger
    width, height = int(frames["width"].max()), int(frames["height"].max())
    result, validation = check_predictions(predictions, image_width=width, image_height=height)
    docs = commit_docs(run, docs_prefix("fleet_predictions"), validation)
    commit = run.commit(
        f"fleet_predictions by {detector.name} {production.version}",
        passed=True,  # the predictions check warns; it protects nothing downstream
        metadata={"model_version": production.version, "source_commit": run.base},
    )
    publication = run.publish(commit, True, "publish fleet_predictions")
    yield published(
        publication,
        repo,
        written,
        {
            "model_version": dg.MetadataValue.text(production.version),
            "challenger_detections": dg.MetadataValue.int(
                seen.challenger.height if seen.challenger is not None else 0
            ),
            "embedding_dims": dg.MetadataValue.int(embeddings["embedding"].dtype.size),
            "frames": dg.MetadataValue.int(frames.height),
            "detections": dg.MetadataValue.int(predictions.height),
        },
    )
    yield docs_linked(result, run, commit, docs)
