"""`fleet_predictions`: the production model run over every frame of the fleet."""

import dagster as dg
import numpy as np
import polars as pl

from assets.automation import after_upstream
from assets.fleet.images import load_images
from assets.models import StoredModel
from assets.paths import EMBEDDINGS_PATH, FRAMES_PATH, PREDICTIONS_PATH, docs_prefix
from assets.publishing import RunBranch
from assets.results import commit_docs, docs_linked, published
from assets.storage import read_table
from quality.checks import PREDICTIONS_CHECK, check_predictions
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.store_resource import VersionedStoreResource
from resources.tables import CLASSES
from resources.versioning import VersionedStore

BATCH = 1024


def embedding_table(frame_ids: pl.Series, vectors: list[np.ndarray]) -> pl.DataFrame:
    """(frame_id, embedding) with a fixed-width float32 array column."""
    matrix = np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, 1), np.float32)
    return pl.DataFrame(
        {"frame_id": frame_ids, "embedding": matrix},
        schema={"frame_id": pl.String, "embedding": pl.Array(pl.Float32, matrix.shape[1])},
    )


def predict_frames(
    store: VersionedStore, repo: str, ref: str, frames: pl.DataFrame, model, *, embed: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """`model`'s predictions (`PREDICTIONS`, low-confidence ones included) on `frames`, and
    with `embed` its (frame_id, embedding) table; the images are decoded `BATCH` at a time."""
    from resources.detection import predictions_table  # torch: imported when used

    parts, vectors = [], []
    for start in range(0, frames.height, BATCH):
        chunk = frames.slice(start, BATCH)
        images = load_images(store, repo, ref, chunk)
        detections = model.predict(images)
        parts.append(predictions_table(chunk.get_column("frame_id").to_list(), detections, CLASSES))
        if embed:
            vectors.append(model.embed(images))
    predictions = pl.concat(parts) if parts else pl.DataFrame()
    embeddings = embedding_table(frames.get_column("frame_id"), vectors) if embed else None
    return predictions, embeddings


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
    (`predictions/fleet/predictions.parquet`), and its embedding of every frame
    (`predictions/fleet/embeddings.parquet`): what model-signal and similarity slices and the
    drift report read."""
    vs, repo = store.ensure_repository(), store.repository
    production = catalog.open().alias(detector.name, "production")
    if production is None:
        raise dg.Failure("no production model yet: promote a candidate first")
    run = RunBranch(vs, repo, context.run.run_id, "fleet_predictions")
    model = StoredModel(detector.name, production.version, production.commit).load(vs, repo)
    frames = read_table(vs, repo, run.base, FRAMES_PATH)
    predictions, embeddings = predict_frames(vs, repo, run.base, frames, model, embed=True)
    run.put_table(PREDICTIONS_PATH, predictions)
    run.put_table(EMBEDDINGS_PATH, embeddings)
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
        [PREDICTIONS_PATH, EMBEDDINGS_PATH],
        {
            "model_version": dg.MetadataValue.text(production.version),
            "embedding_dims": dg.MetadataValue.int(embeddings["embedding"].dtype.size),
            "frames": dg.MetadataValue.int(frames.height),
            "detections": dg.MetadataValue.int(predictions.height),
        },
    )
    yield docs_linked(result, run, commit, docs)
