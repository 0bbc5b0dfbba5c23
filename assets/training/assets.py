"""`training_set` (versioned manifest + labels) and `candidate_model` (trained on it)."""

import hashlib
import time
from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.fleet.images import load_images
from assets.markdown import table_md
from assets.mining.signals import Challenger, train_challenger
from assets.models import candidate_branch
from assets.publishing import ASSET_KEY, open_run
from assets.results import commit_docs, docs_linked, published, store_metadata
from assets.slices.declarations import SliceSpec
from assets.training.card import model_card
from assets.training.manifest import build_training_set, slice_counts, slice_members
from quality.checks import TRAINING_SET_CHECK, check_training_set
from resources.catalog import UnknownModelError
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import (
    LABELS_PREFIX,
    MANIFEST_PATH,
    REQUESTS_PREFIX,
    TRAINING_LABELS_PATH,
    challenger_path,
    checkpoint_path,
    docs_prefix,
    model_dir,
    slice_path,
)
from resources.storage import (
    JSON,
    frames_of_ids,
    json_bytes,
    list_paths,
    read_table,
    read_tables,
    request_infos,
    table_bytes,
)
from resources.store_resource import VersionedStoreResource
from resources.tables import BOXES, CLASSES, LABEL_REQUEST, LABELED_FRAMES
from resources.versioning import VersionedStore


def read_requests(store: VersionedStore, repo: str, ref: str) -> pl.DataFrame:
    """Every labeling request's rows with the time it was made (`requested_at`), oldest
    first: the order in which slices asked for frames."""
    rows = read_tables(
        store, repo, ref, list_paths(store, repo, ref, REQUESTS_PREFIX, ".parquet"), LABEL_REQUEST
    )
    made = {
        request_id: info.get("requested_at", "")
        for request_id, info in request_infos(store, repo, ref).items()
    }
    return rows.with_columns(
        pl.col("request_id").replace_strict(made, default="").alias("requested_at")
    ).sort(["requested_at", "request_id", "rank"])


TRAINING_COLUMNS = ["frame_id", "split", "weight", "batch_id"]  # what a model learns from


def unchanged(
    store: VersionedStore, repo: str, ref: str, manifest: pl.DataFrame, labels: pl.DataFrame
) -> bool:
    """Whether main already trains on exactly this: the same frames, splits, weights and
    labels. A frame that only counts for another slice now (a re-ranked slice took it, at the
    same weight) changes nothing a model learns, so it retrains nothing."""
    paths = (MANIFEST_PATH, TRAINING_LABELS_PATH)
    if not all(store.exists(repo, ref, p) for p in paths):
        return False
    current, current_labels = (read_table(store, repo, ref, p) for p in paths)
    same_frames = current.select(TRAINING_COLUMNS).equals(manifest.select(TRAINING_COLUMNS))
    return same_frames and current_labels.equals(labels)


def build_training_set_asset(specs: Sequence[SliceSpec]) -> dg.AssetsDefinition:
    @dg.asset(
        name="training_set",
        deps=["label_sets", *(spec.asset_name for spec in specs)],
        group_name="training",
        kinds={"polars", "parquet", "lakefs"},
        automation_condition=after_upstream(all_deps=False),
        output_required=False,
        check_specs=[
            dg.AssetCheckSpec(
                TRAINING_SET_CHECK,
                asset="training_set",
                blocking=True,
                description="GX suite training_set: both splits, disjoint, one row per frame "
                "and split",
            )
        ],
    )
    def training_set(context: dg.AssetExecutionContext, store: VersionedStoreResource):
        """Every labeled frame with its split, the slice it counts for and that slice's weight
        (`datasets/training_set/{manifest,labels}.parquet`), defined by the slices at their
        current versions: held-out frames are the evaluation slices'. When nothing changed
        it materializes nothing, so nothing downstream runs again."""
        run = open_run(store, context.run.run_id, "training_set")
        vs, repo, base = run.store, run.repository, run.base
        frames_paths = list_paths(vs, repo, base, LABELS_PREFIX, "/frames.parquet")
        label_frames = read_tables(vs, repo, base, frames_paths, LABELED_FRAMES)
        boxes = [
            read_table(vs, repo, base, p.replace("/frames.parquet", "/boxes.parquet")).with_columns(
                pl.lit(p.split("/")[1]).alias("batch_id")
            )
            for p in frames_paths
        ]
        label_boxes = (
            pl.concat(boxes) if boxes else pl.DataFrame(schema={**BOXES, "batch_id": pl.String})
        )
        tables = {
            spec.name: read_table(vs, repo, base, slice_path(spec.name))
            for spec in specs
            if vs.exists(repo, base, slice_path(spec.name))
        }
        manifest, labels = build_training_set(
            label_frames,
            label_boxes,
            read_requests(vs, repo, base),
            slice_members(specs, tables),
            specs,
        )
        idle = (
            "no labels published yet"
            if manifest.is_empty()
            else f"unchanged since {base[:12]}: nothing to retrain"
            if unchanged(vs, repo, base, manifest, labels)
            else ""
        )
        if idle:  # no materialization, so nothing downstream runs in this run or later
            context.log.info(f"training set {idle}")
            vs.delete_branch(repo, run.name)
            yield dg.AssetCheckResult(
                check_name=TRAINING_SET_CHECK,
                passed=True,
                description=f"not rebuilt: {idle}",
            )
            return
        run.put_table(MANIFEST_PATH, manifest)
        run.put_table(TRAINING_LABELS_PATH, labels)
        result, validation = check_training_set(manifest, labels)
        docs = commit_docs(run, docs_prefix("training_set"), validation)
        commit = run.commit(
            f"training_set: {manifest.height} frames from {len(frames_paths)} label batches",
            passed=result.passed,
            metadata={"source_commit": base},
        )
        publication = run.publish(commit, result.passed, "publish training_set")
        if publication.passed:
            per = manifest.group_by("split", "slice").agg(
                pl.len().alias("frames"), pl.col("weight").first()
            )
            yield published(
                publication,
                repo,
                [MANIFEST_PATH, TRAINING_LABELS_PATH],
                {
                    "frames": dg.MetadataValue.int(manifest.height),
                    "boxes": dg.MetadataValue.int(labels.height),
                    "label_batches": dg.MetadataValue.int(len(frames_paths)),
                    "per_split_and_slice": dg.MetadataValue.md(
                        table_md(per.sort("split", "slice"))
                    ),
                },
            )
        yield docs_linked(result, run, commit, docs)

    return training_set


def is_registered(catalog, name: str, version: str) -> bool:
    try:
        catalog.get_model(name, version)
    except UnknownModelError:
        return False
    return True


def _progress_logger(context: dg.AssetExecutionContext):
    """Log training progress about ten times per run, not every step."""

    def report(step: int, total: int, loss: float) -> None:
        if step == total or step % max(1, total // 10) == 0:
            context.log.info(f"training step {step}/{total}: loss {loss:.4f}")

    return report


def training_set_commit(store: VersionedStore, repo: str, ref: str) -> str:
    """The commit of main (at or before `ref`) that published the current training set."""
    for commit in store.log(repo, ref):
        if commit.metadata.get(ASSET_KEY) == "training_set" and len(commit.parents) > 1:
            return commit.id
    raise dg.Failure(f"no published training set in the history of {ref[:12]}")


def challenger_for(detector: DetectorResource) -> Challenger:
    """Narrower, another seed, a bootstrap resample, 10 epochs (or the detector's, if fewer):
    shorter challengers found almost nothing, and disagreement degenerated into ranking by the
    production model's own detections (`python -m bench.signals --quick
    --compare-challengers`)."""
    epochs = min(Challenger.epochs, detector.epochs or Challenger.epochs)
    return Challenger(epochs=epochs, seed=detector.seed + 1)


def model_version(store: VersionedStore, repo: str, ref: str, detector: DetectorResource) -> str:
    """Same training data and settings → same version, so a rerun never duplicates a model."""
    parts = [store.stat(repo, ref, p).checksum for p in (MANIFEST_PATH, TRAINING_LABELS_PATH)]
    parts += [detector.model, str(detector.epochs), str(detector.seed)]
    return "m" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


@dg.asset(
    deps=["training_set"],
    group_name="training",
    kinds={"pytorch", "lakefs"},
    automation_condition=after_upstream(),
    output_required=False,
)
def candidate_model(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
):
    """A detector trained on the training set's train split, committed with its model card
    on its own branch (`candidate-<version>`): it reaches main only if promoted. Its
    challenger (`challenger_for`) is trained on the same frames and committed beside it."""
    from resources.detection import targets_from_boxes  # torch: imported when used

    vs, repo = store.ensure_repository(), store.repository
    base = vs.resolve(repo, store.main_branch)
    dataset_commit = training_set_commit(vs, repo, base)
    manifest = read_table(vs, repo, dataset_commit, MANIFEST_PATH)
    labels = read_table(vs, repo, dataset_commit, TRAINING_LABELS_PATH)
    train = manifest.filter(pl.col("split") == "train")
    version = model_version(vs, repo, dataset_commit, detector)
    cat = catalog.open()
    if is_registered(cat, detector.name, version):
        context.log.info(f"{version} is already trained on this training set: nothing to do")
        return
    frames = frames_of_ids(vs, repo, dataset_commit, train.get_column("frame_id"))
    frame_ids = frames.get_column("frame_id").to_list()
    weights = frames.join(train.select("frame_id", "weight"), on="frame_id", how="left")
    started = time.perf_counter()
    images = load_images(vs, repo, dataset_commit, frames)
    model = detector.new()
    targets = targets_from_boxes(frame_ids, labels, CLASSES)
    summary = model.fit(
        images,
        targets,
        seed=detector.seed,
        progress=_progress_logger(context),
        weights=weights.get_column("weight").fill_null(1.0).to_numpy(),
    )
    seconds = time.perf_counter() - started
    # the second opinion disagreement mining asks for, trained here while the images are
    # decoded; it is promoted together with the candidate
    challenger, challenger_fit = train_challenger(
        images, targets, challenger_for(detector), detector=detector.model
    )
    context.log.info(
        f"challenger trained in {challenger_fit['seconds']:.1f} s on {len(images)} frames"
    )
    counts = slice_counts(manifest)
    branch = candidate_branch(version)
    vs.create_branch(repo, branch, dataset_commit, exist_ok=True)
    vs.reset(repo, branch)
    directory = model_dir(detector.name, version)
    card = model_card(
        detector.name, version, detector.model, summary, counts, dataset_commit, challenger_fit
    )
    vs.put(repo, branch, checkpoint_path(detector.name, version), detector.dump(model))
    vs.put(repo, branch, challenger_path(detector.name, version), detector.dump(challenger))
    vs.put(repo, branch, f"{directory}/model_card.md", card.encode(), content_type="text/markdown")
    training = {
        "summary": summary,
        "train_frames_per_slice": counts,
        "training_set_commit": dataset_commit,
        "challenger": challenger_fit,
    }
    vs.put(repo, branch, f"{directory}/training.json", json_bytes(training), content_type=JSON)
    vs.put(repo, branch, f"{directory}/train_manifest.parquet", table_bytes(train))
    commit = vs.commit(
        repo,
        branch,
        f"candidate {detector.name} {version}",
        metadata={ASSET_KEY: "candidate_model", "model_version": version},
        allow_empty=True,
    ).id
    cat.register_model(
        detector.name,
        version,
        branch=branch,
        commit=commit,
        training_set_commit=dataset_commit,
        metrics={k: float(v) for k, v in summary.items()},
        card_path=f"{directory}/model_card.md",
    )
    yield dg.MaterializeResult(
        metadata={
            **store_metadata(
                repo, commit, [checkpoint_path(detector.name, version)], branch=branch, store=vs
            ),
            "model_version": dg.MetadataValue.text(version),
            "train_frames": dg.MetadataValue.int(train.height),
            "train_frames_per_slice": dg.MetadataValue.json(counts),
            "training_seconds": dg.MetadataValue.float(round(seconds, 1)),
            "summary": dg.MetadataValue.json({k: float(v) for k, v in summary.items()}),
            "challenger": dg.MetadataValue.json(challenger_fit),
            "model_card": dg.MetadataValue.md(card),
        },
        data_version=dg.DataVersion(commit),
    )
