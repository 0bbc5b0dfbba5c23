"""`drift_report`: has the fleet moved away from what the model was trained on?

Compares the production model's embeddings of the training frames (the training set
manifest's `train` split) with its embeddings of the unlabeled fleet frames (those in no split
of the manifest), using `assets.mining.signals.drift`: squared MMD with a permutation p-value,
and coverage overall and per weather and time of day. Writes the report and a 2-D map of both
sets of embeddings; a warning check says when production drifted.
"""

import base64

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.markdown import table_md
from assets.mining.signals import drift, drift_map_png
from assets.mining.signals.scores import random_sample
from assets.publishing import ASSET_KEY, open_run
from assets.results import published
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import EMBEDDINGS_PREFIX, MANIFEST_PATH
from resources.storage import list_paths, read_table, scan_frames, scan_tables
from resources.store_resource import VersionedStoreResource
from resources.versioning import VersionedStore

DRIFT_REPORT_PATH = "reports/drift/drift.json"
DRIFT_MAP_PATH = "reports/drift/drift_map.png"
DRIFT_CHECK = "production_drift"
MAP_FRAMES = 3000  # production frames drawn on the map: enough to see the clusters
SEED = 0


def drift_inputs(
    frames: pl.DataFrame, embeddings: pl.DataFrame, manifest: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training, production) rows of `embeddings` sorted by frame_id, production with the
    frames' weather and time of day: training = the manifest's train split, production = fleet
    frames the manifest does not list (unlabeled)."""
    train_ids = manifest.filter(pl.col("split") == "train").select("frame_id")
    train = embeddings.join(train_ids, on="frame_id", how="semi").sort("frame_id")
    production = (
        frames.select("frame_id", "weather", "time_of_day")
        .join(manifest.select("frame_id"), on="frame_id", how="anti")
        .join(embeddings, on="frame_id", how="inner")
        .sort("frame_id")
    )
    return train, production


def production_model_version(store: VersionedStore, repo: str, ref: str) -> str | None:
    """The model version of the fleet_predictions run that wrote the embeddings at `ref`."""
    for commit in store.log(repo, ref):
        if commit.metadata.get(ASSET_KEY) == "fleet_predictions":
            if "model_version" in commit.metadata:
                return commit.metadata["model_version"]
            if len(commit.parents) < 2:
                return None
            # the merge into main carries no version; the audited run commit it merged does
            return store.get_commit(repo, commit.parents[1]).metadata.get("model_version")
    return None


@dg.asset(
    deps=["fleet_predictions"],
    group_name="mining",
    kinds={"polars", "lakefs"},
    automation_condition=after_upstream(),
    check_specs=[
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset="drift_report",
            description="the fleet's embeddings look like the training frames' (MMD "
            "permutation test, coverage per weather and time of day); warns only",
        )
    ],
)
def drift_report(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    """The production embeddings against the training embeddings (`reports/drift/drift.json`:
    MMD², p-value, coverage overall and per slice, the verdict and its reason) and their map
    on the training set's two principal components, coloured by weather
    (`reports/drift/drift_map.png`)."""
    run = open_run(store, context.run.run_id, "drift_report")
    vs, repo = run.store, run.repository
    deployed = catalog.open().alias(detector.name, "production")
    if deployed is None:
        raise dg.Failure("no model deployed yet: drift compares the fleet with its training data")
    if not list_paths(vs, repo, run.base, EMBEDDINGS_PREFIX, ".parquet"):
        raise dg.Failure("no fleet embeddings on main yet: materialize fleet_predictions first")
    train, production = drift_inputs(
        scan_frames(vs, repo, run.base).collect(),
        scan_tables(vs, repo, run.base, EMBEDDINGS_PREFIX, None).collect(),
        # the deployed model's own training frames, as they were when it was trained
        read_table(vs, repo, deployed.commit, MANIFEST_PATH),
    )
    if train.height < 2 or production.is_empty():
        raise dg.Failure(
            f"drift needs at least 2 training and 1 unlabeled fleet frame with embeddings; "
            f"found {train.height} and {production.height}"
        )
    train_emb = train["embedding"].to_numpy()
    report = drift.drift_report(
        train_emb, production["embedding"].to_numpy(), production.drop("embedding"), seed=SEED
    )
    flag, reason = drift.drifted(report)
    version = production_model_version(vs, repo, run.base)
    sample = production.filter(
        pl.col("frame_id").is_in(random_sample(production["frame_id"].to_list(), MAP_FRAMES, SEED))
    )
    png = drift_map_png(train_emb, sample["embedding"].to_numpy(), sample["weather"].to_list())
    run.put_json(
        DRIFT_REPORT_PATH,
        {
            **report.to_dict(),
            "drifted": flag,
            "reason": reason,
            "map_frames": sample.height,
            "model_version": version,
            # what was compared, not where main stood: a re-run on the same data writes the
            # same report (the main commit read is in the commit's metadata)
            "training_commit": deployed.commit,
        },
    )
    run.put(DRIFT_MAP_PATH, png, content_type="image/png")
    commit = run.commit(
        f"drift_report: {'drifted' if flag else 'no drift'}",
        passed=True,  # drift warns; it protects nothing downstream
        metadata={"source_commit": run.base, **({"model_version": version} if version else {})},
    )
    publication = run.publish(commit, True, "publish drift_report")
    image = base64.b64encode(png).decode()
    yield published(
        publication,
        repo,
        [DRIFT_REPORT_PATH, DRIFT_MAP_PATH],
        {
            "mmd2": dg.MetadataValue.float(report.mmd2),
            "p_value": dg.MetadataValue.float(report.p_value),
            "coverage": dg.MetadataValue.float(report.coverage),
            "drifted": dg.MetadataValue.bool(flag),
            "train_frames": dg.MetadataValue.int(report.train_frames),
            "production_frames": dg.MetadataValue.int(report.production_frames),
            "model_version": dg.MetadataValue.text(version or "unknown"),
            "slice_coverage": dg.MetadataValue.md(table_md(pl.DataFrame(report.slices))),
            "drift_map": dg.MetadataValue.md(f"![drift map](data:image/png;base64,{image})"),
        },
    )
    yield dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        passed=not flag,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "reason": dg.MetadataValue.text(reason),
            "mmd2": dg.MetadataValue.float(report.mmd2),
            "p_value": dg.MetadataValue.float(report.p_value),
        },
        description=reason,
    )
