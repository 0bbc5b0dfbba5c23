"""`evaluation_report`: the candidate against production, per slice, on the held-out frames."""

from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.evaluation.report import build_report, chart_png, html_page, markdown
from assets.fleet.images import load_images
from assets.models import StoredModel, candidate_branch
from assets.publishing import ASSET_KEY
from assets.results import store_metadata, upstream_value
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import MANIFEST_PATH, TRAINING_LABELS_PATH, report_dir
from resources.storage import JSON, frames_of_ids, json_bytes, read_table, table_bytes
from resources.store_resource import VersionedStoreResource
from resources.tables import CLASSES


def eval_split(
    store, repo: str, commit: str, trained: Sequence[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frames, labels) of the held-out frames of the training set at `commit`, less any
    frame in `trained` (what the models compared trained on): no model is judged on its
    own training frames, whatever an edited evaluation slice holds."""
    manifest = read_table(store, repo, commit, MANIFEST_PATH)
    held_out = manifest.filter(
        (pl.col("split") == "eval") & ~pl.col("frame_id").is_in(list(trained))
    ).select("frame_id")
    frames = frames_of_ids(store, repo, commit, held_out.get_column("frame_id"))
    labels = read_table(store, repo, commit, TRAINING_LABELS_PATH).join(
        held_out, on="frame_id", how="semi"
    )
    return frames.sort("frame_id"), labels


def train_frames(store, repo: str, commit: str) -> list[str]:
    """The train split of the training set a model was trained on (at its commit)."""
    manifest = read_table(store, repo, commit, MANIFEST_PATH)
    return manifest.filter(pl.col("split") == "train").get_column("frame_id").to_list()


@dg.asset(
    deps=["candidate_model"],
    group_name="evaluation",
    kinds={"pytorch", "html", "lakefs"},
    automation_condition=after_upstream(),
    output_required=False,
)
def evaluation_report(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    """Precision, recall and AP at IoU 0.5 per evaluation slice (all, rain, night, green
    cones, …) and the confusion between cone colours, for the candidate and the production
    model on the same held-out frames (`reports/evaluation/<model>/<version>/`)."""
    from assets.evaluation.eval_slices import EVAL_SLICES, evaluate
    from assets.evaluation.metrics import confusion_matrix
    from resources.detection import predictions_table

    vs, repo = store.ensure_repository(), store.repository
    cat = catalog.open()
    version = upstream_value(context, "candidate_model", "model_version")
    candidate = cat.get_model(detector.name, version)
    production = cat.alias(detector.name, "production")
    trained = train_frames(vs, repo, production.commit) if production is not None else []
    frames, labels = eval_split(vs, repo, candidate.training_set_commit, trained)
    frame_ids = frames.get_column("frame_id").to_list()
    images = load_images(vs, repo, candidate.training_set_commit, frames)

    def predict(model_version: str, commit: str) -> pl.DataFrame:
        model = StoredModel(detector.name, model_version, commit).load(vs, repo)
        return predictions_table(frame_ids, model.predict(images), CLASSES)

    predicted = {"candidate": predict(candidate.version, candidate.commit)}
    if production is not None:
        predicted["production"] = predict(production.version, production.commit)
    per_slice = {who: evaluate(frames, labels, p, EVAL_SLICES) for who, p in predicted.items()}
    confusion = {who: confusion_matrix(labels, p, frame_ids) for who, p in predicted.items()}
    report = build_report(
        {"name": detector.name, "version": candidate.version, "commit": candidate.commit},
        {"name": detector.name, "version": production.version, "commit": production.commit}
        if production
        else None,
        per_slice["candidate"],
        per_slice.get("production"),
        confusion,
        eval_frames=len(frame_ids),
    )
    chart = chart_png(report)
    directory = report_dir(detector.name, candidate.version)
    branch = candidate_branch(candidate.version)
    files = {
        f"{directory}/report.json": (json_bytes(report), JSON),
        f"{directory}/report.md": (markdown(report).encode(), "text/markdown"),
        f"{directory}/report.html": (html_page(report, chart).encode(), "text/html"),
        f"{directory}/ap_per_slice.png": (chart, "image/png"),
        f"{directory}/predictions.parquet": (
            table_bytes(predicted["candidate"]),
            "application/vnd.apache.parquet",
        ),
    }
    for path, (data, content_type) in files.items():
        vs.put(repo, branch, path, data, content_type=content_type)
    commit = vs.commit(
        repo,
        branch,
        f"evaluation report of {candidate.version}",
        metadata={ASSET_KEY: "evaluation_report", "model_version": candidate.version},
        allow_empty=True,
    ).id
    yield dg.MaterializeResult(
        metadata={
            **store_metadata(repo, commit, [f"{directory}/report.html"], branch=branch, store=vs),
            "model_version": dg.MetadataValue.text(candidate.version),
            "against": dg.MetadataValue.text(production.version if production else "none"),
            "report": dg.MetadataValue.md(markdown(report, chart)),
            "slices": dg.MetadataValue.json(report["slices"]),
        },
        data_version=dg.DataVersion(commit),
    )
