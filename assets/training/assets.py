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
from assets.paths import (
    FRAMES_PATH,
    LABELS_PREFIX,
    MANIFEST_PATH,
    REQUESTS_PREFIX,
    TRAINING_LABELS_PATH,
    challenger_path,
    checkpoint_path,
    docs_prefix,
    model_dir,
)
from assets.publishing import ASSET_KEY, RunBranch
from assets.results import commit_docs, docs_linked, published, store_metadata
from assets.slices.declarations import SliceSpec
from assets.storage import JSON, json_bytes, list_paths, read_table, read_tables, table_bytes
from assets.training.card import model_card
from assets.training.manifest import build_training_set, slice_counts
from quality.checks import TRAINING_SET_CHECK, check_training_set
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.store_resource import VersionedStoreResource
from resources.tables import BOXES, CLASSES, LABEL_REQUEST, LABELED_FRAMES
from resources.versioning import VersionedStore


def build_training_set_asset(specs: Sequence[SliceSpec]) -> dg.AssetsDefinition:
    roles = {spec.name: spec.role for spec in specs}

    @dg.asset(
        name="training_set",
        deps=["label_sets"],
        group_name="training",
        kinds={"polars", "parquet", "lakefs"},
        automation_condition=after_upstream(),
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
        """Every labeled frame with its split and the slice that asked for it
        (`datasets/training_set/{manifest,labels}.parquet`): held-out evaluation frames are
        the ones an evaluation slice requested."""
        vs, repo = store.ensure_repository(), store.repository
        run = RunBranch(vs, repo, context.run.run_id, "training_set")
        frames_paths = [
            p
            for p in list_paths(vs, repo, run.base, LABELS_PREFIX)
            if p.endswith("/frames.parquet")
        ]
        label_frames = read_tables(vs, repo, run.base, frames_paths, LABELED_FRAMES)
        boxes = [
            read_table(
                vs, repo, run.base, p.replace("/frames.parquet", "/boxes.parquet")
            ).with_columns(pl.lit(p.split("/")[1]).alias("batch_id"))
            for p in frames_paths
        ]
        label_boxes = (
            pl.concat(boxes) if boxes else pl.DataFrame(schema={**BOXES, "batch_id": pl.String})
        )
        requests = read_tables(
            vs,
            repo,
            run.base,
            list_paths(vs, repo, run.base, REQUESTS_PREFIX, ".parquet"),
            LABEL_REQUEST,
        )
        manifest, labels = build_training_set(label_frames, label_boxes, requests, roles)
        run.put_table(MANIFEST_PATH, manifest)
        run.put_table(TRAINING_LABELS_PATH, labels)
        result, validation = check_training_set(manifest, labels)
        docs = commit_docs(run, docs_prefix("training_set"), validation)
        commit = run.commit(
            f"training_set: {manifest.height} frames from {len(frames_paths)} label batches",
            passed=result.passed,
            metadata={"source_commit": run.base},
        )
        publication = run.publish(commit, result.passed, "publish training_set")
        if publication.passed:
            per = manifest.group_by("split", "slice").len().sort("split", "slice")
            yield published(
                publication,
                repo,
                [MANIFEST_PATH, TRAINING_LABELS_PATH],
                {
                    "frames": dg.MetadataValue.int(manifest.height),
                    "boxes": dg.MetadataValue.int(labels.height),
                    "label_batches": dg.MetadataValue.int(len(frames_paths)),
                    "per_split_and_slice": dg.MetadataValue.md(table_md(per)),
                },
            )
        yield docs_linked(result, run, commit, docs)

    return training_set


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
)
def candidate_model(
    context: dg.AssetExecutionContext,
    store: VersionedStoreResource,
    catalog: CatalogResource,
    detector: DetectorResource,
) -> dg.MaterializeResult:
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
    frames = read_table(vs, repo, dataset_commit, FRAMES_PATH).join(
        train.select("frame_id"), on="frame_id", how="semi"
    )
    frame_ids = frames.get_column("frame_id").to_list()
    version = model_version(vs, repo, dataset_commit, detector)
    started = time.perf_counter()
    images = load_images(vs, repo, dataset_commit, frames)
    model = detector.new()
    targets = targets_from_boxes(frame_ids, labels, CLASSES)
    summary = model.fit(
        images,
        targets,
        seed=detector.seed,
        progress=_progress_logger(context),
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
    catalog.open().register_model(
        detector.name,
        version,
        branch=branch,
        commit=commit,
        training_set_commit=dataset_commit,
        metrics={k: float(v) for k, v in summary.items()},
        card_path=f"{directory}/model_card.md",
    )
    return dg.MaterializeResult(
        metadata={
            **store_metadata(
                repo, commit, [checkpoint_path(detector.name, version)], branch=branch
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
