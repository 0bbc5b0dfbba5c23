"""`labeling_queue` (frames sent out for labeling) and `label_sets` (batches that came back).

Label sets are the queue's answer: the labelers produce them, not automation, but the graph
says which request they answer, so the lineage runs from the slices through the labels to
the model.
"""

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.labels.queue import plan_request
from assets.markdown import table_md
from assets.publishing import Publication, open_run
from assets.results import commit_docs, docs_linked, published, store_metadata
from assets.slices.declarations import SliceSpec
from quality.checks import (
    LABEL_BATCH_CHECK,
    LABEL_FRAMES_CHECK,
    check_label_batch,
    check_label_frames,
    unreadable_result,
)
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.faults import point
from resources.labeling import LabelingService
from resources.landing import (
    LABEL_UPLOADS,
    LANDING_BRANCH,
    LANDING_COMMIT_TAG,
    UnreadableUploadError,
    read_parquet_upload,
)
from resources.layout import (
    REQUESTS_PREFIX,
    docs_prefix,
    label_paths,
    request_info_path,
    request_path,
    slice_path,
)
from resources.storage import (
    frames_of_ids,
    list_paths,
    read_json,
    read_table,
    read_tables,
    request_infos,
)
from resources.store_resource import VersionedStoreResource
from resources.tables import BOXES, LABEL_REQUEST, LABELED_FRAMES, conform
from resources.versioning import NotFoundError

label_batches = dg.DynamicPartitionsDefinition(name="label_batches")
LABEL_FILES = ("frames.parquet", "boxes.parquet", "batch.json")


def build_labeling_queue(specs: Sequence[SliceSpec]) -> dg.AssetsDefinition:
    @dg.asset(
        name="labeling_queue",
        deps=[spec.asset_name for spec in specs],
        group_name="labels",
        kinds={"polars", "parquet", "lakefs"},
        automation_condition=after_upstream(all_deps=False),
    )
    def labeling_queue(
        context: dg.AssetExecutionContext,
        store: VersionedStoreResource,
        catalog: CatalogResource,
        labeling: LabelingService,
        detector: DetectorResource,
    ) -> dg.MaterializeResult:
        """Frames sent out for labeling (`labeling/requests/<request>.parquet`): each slice's
        shortfall against its target size, never a frame asked for before."""
        vs, repo = store.ensure_repository(), store.repository
        base = vs.resolve(repo, store.main_branch)
        history = read_tables(
            vs, repo, base, list_paths(vs, repo, base, REQUESTS_PREFIX, ".parquet"), LABEL_REQUEST
        )
        model_of_request = {
            request_id: info.get("model_version", "")
            for request_id, info in request_infos(vs, repo, base).items()
        }
        cat = catalog.open()
        production = cat.alias(detector.name, "production")
        current_model = production.version if production else ""
        candidates = {
            spec.name: read_table(vs, repo, base, slice_path(spec.name))
            for spec in specs
            if vs.exists(repo, base, slice_path(spec.name))
        }
        request = plan_request(
            specs,
            candidates,
            history,
            model_of_request=model_of_request,
            current_model=current_model,
        )
        commit, paths = base, []
        if request.height:
            request_id = request["request_id"][0]
            run = open_run(store, context.run.run_id, "labeling_queue")
            paths = [request_path(request_id)]
            run.put_table(paths[0], request)
            per_slice_new = dict(request.group_by("slice").len().sort("slice").rows())
            run.put_json(
                request_info_path(request_id),
                {
                    "model_version": current_model,
                    "frames_per_slice": per_slice_new,
                    # the order in time the training set reads requests in
                    "requested_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                },
            )
            audited = run.commit(
                f"labeling request {request_id}: {request.height} frames", passed=True
            )
            commit = run.publish(
                audited, True, f"publish labeling request {request_id}"
            ).data_version
            history = pl.concat([history, request])
        # Hand every published request the service has not seen to it, including one whose
        # earlier run crashed between publishing and submitting.
        known = {r.request_id for r in cat.requests()}
        for (request_id,), rows in history.group_by(["request_id"], maintain_order=True):
            if request_id not in known:
                where = labeling.submit(request_id, rows)
                per_slice = dict(rows.group_by("slice").len().rows())
                cat.record_request(request_id, frames=rows.height, slices=per_slice)
                context.log.info(f"sent request {request_id} ({rows.height} frames) to {where}")
        per_slice = request.group_by("slice").len().sort("slice") if request.height else request
        return dg.MaterializeResult(
            metadata={
                **store_metadata(repo, commit, paths, store=vs),
                "requested_frames": dg.MetadataValue.int(request.height),
                "request_id": dg.MetadataValue.text(
                    request["request_id"][0] if request.height else ""
                ),
                "per_slice": dg.MetadataValue.md(table_md(per_slice)),
                "frames_ever_requested": dg.MetadataValue.int(history.height),
            },
            data_version=dg.DataVersion(commit),
        )

    return labeling_queue


@dg.asset(
    deps=["labeling_queue"],
    partitions_def=label_batches,
    group_name="labels",
    kinds={"polars", "parquet", "lakefs"},
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            LABEL_BATCH_CHECK,
            asset="label_sets",
            blocking=True,
            description="GX suite label_batch: boxes inside the image and well-ordered, known "
            "classes, boxes only on the batch's frames, no box twice",
        ),
        dg.AssetCheckSpec(
            LABEL_FRAMES_CHECK,
            asset="label_sets",
            blocking=True,
            description="GX suite label_frames: the frames a batch covers are unique fleet frames",
        ),
    ],
)
def label_sets(
    context: dg.AssetExecutionContext, store: VersionedStoreResource, catalog: CatalogResource
):
    """Labels that landed, one partition per batch (`labels/<batch>/{frames,boxes}.parquet`):
    validated on a run branch, published to main only when both checks pass."""
    batch = context.partition_key
    landing = context.run.tags.get(LANDING_COMMIT_TAG) or LANDING_BRANCH
    cat = catalog.open()
    recorded = _recorded(cat, batch)
    run = open_run(store, context.run.run_id, "label_sets", partition=batch)
    vs, repo = run.store, run.repository
    with contextlib.suppress(NotFoundError):  # one that does not resolve fails its checks
        landing = vs.resolve(repo, landing)
    if recorded is not None and recorded.landing_commit != landing:
        if not _landed_changed(vs, repo, recorded, landing, batch):
            landing = recorded.landing_commit  # a replay of what was recorded: judge it again
        elif recorded.status == "published":
            vs.delete_branch(repo, run.name)
            raise dg.Failure(
                f"label batch {batch!r} was already published from landing "
                f"{recorded.landing_commit[:12]} and its files changed since; upload the "
                "corrected labels under a new batch id"
            )
        # else: fixed files of a batch that was rejected (it never reached main): judge them
    source = f"{LABEL_UPLOADS}{batch}/"

    problems: dict[str, str] = {}
    tables: dict[str, pl.DataFrame] = {}
    for part in ("frames", "boxes"):
        try:
            tables[part] = read_parquet_upload(vs, repo, landing, f"{source}{part}.parquet")
        except NotFoundError:
            problems[f"{source}{part}.parquet"] = f"missing from the upload at {landing[:12]}"
        except UnreadableUploadError as error:  # corrupt or over the cap: keep main as is
            problems[f"{source}{part}.parquet"] = str(error)
    try:
        info = read_json(vs, repo, landing, f"{source}batch.json")
    except (NotFoundError, ValueError):
        info = {}
    if not isinstance(info, dict):  # e.g. `[]`: say so, and keep main as it is
        problems[f"{source}batch.json"] = f"not a JSON object but {type(info).__name__}"
        info = {}

    listed_ids = (
        tables["frames"].get_column("frame_id").to_list()
        if "frames" in tables and "frame_id" in tables["frames"].columns
        else []
    )
    fleet = frames_of_ids(
        vs,
        repo,
        run.base,
        [str(f) for f in listed_ids if f is not None],
        ["frame_id", "width", "height"],
    )
    results: list[dg.AssetCheckResult] = []
    passed = not problems
    paths = label_paths(batch)
    if "frames" in tables:
        frames = tables["frames"]
        result, validation = check_label_frames(frames, fleet.get_column("frame_id"))
        docs = commit_docs(run, docs_prefix("label_sets", f"{batch}/frames"), validation)
        results.append((result, docs))
        passed &= result.passed
    if "boxes" in tables:
        listed = tables["frames"].get_column("frame_id") if "frames" in tables else []
        known = set(fleet.get_column("frame_id").to_list()) & set(list(listed))
        result, validation = check_label_batch(
            tables["boxes"],
            image_width=int(fleet["width"].max() or 0),
            image_height=int(fleet["height"].max() or 0),
            known_frame_ids=known,
            frame_sizes=fleet,
        )
        docs = commit_docs(run, docs_prefix("label_sets", f"{batch}/boxes"), validation)
        results.append((result, docs))
        passed &= result.passed
    if passed:
        run.put_table(paths["frames"], conform(tables["frames"], LABELED_FRAMES))
        run.put_table(paths["boxes"], conform(tables["boxes"], BOXES))
        run.put_json(paths["batch"], {**info, "batch_id": batch, "landing_commit": landing})
    commit = run.commit(
        f"label_sets {batch} from landing {landing[:12]}",
        passed=passed,
        metadata={"batch_id": batch, "landing_commit": landing},
    )
    # Published before (a re-run, or a run killed between the merge and the catalog record):
    # the merge on main stands and is recorded, never made twice.
    before = _published_before(vs, repo, run.main, batch) if passed else None
    if before is not None:
        vs.delete_branch(repo, run.name)
        publication = Publication(run.name, commit, before, vs)
    else:
        publication = run.publish(commit, passed, f"publish label batch {batch}")
    point("label_sets:published")
    frames_n = tables["frames"].height if "frames" in tables else 0
    boxes_n = tables["boxes"].height if "boxes" in tables else 0
    # Labels may answer one of our requests, or arrive on their own (an import).
    asked = str(info.get("request_id") or "")
    request_id = asked if asked in {r.request_id for r in cat.requests()} else None
    if passed and request_id:
        cat.mark_request_answered(request_id, batch)
    point("label_sets:answered")
    # Last: the batch's record says it is handled, so a run killed before it is retried.
    cat.record_label_batch(
        batch,
        request_id=request_id,
        source=str(info.get("source", "unknown")),
        landing_commit=landing,
        published_commit=publication.published_id,
        frames=frames_n,
        boxes=boxes_n,
        status="published" if passed else "rejected",
        reason="" if passed else f"checks failed; inspect store branch {run.name}",
    )
    point("label_sets:recorded")
    if publication.passed:
        per_class = tables["boxes"].group_by("cls").len().sort("cls")
        yield published(
            publication,
            repo,
            list(paths.values()),
            {
                "frames": dg.MetadataValue.int(frames_n),
                "boxes": dg.MetadataValue.int(boxes_n),
                "boxes_per_class": dg.MetadataValue.md(table_md(per_class)),
                "request_id": dg.MetadataValue.text(str(info.get("request_id", ""))),
                "landing_commit": dg.MetadataValue.text(landing),
            },
        )
    else:
        context.log.error(f"label batch {batch} rejected; inspect store branch {run.name!r}")
    names = {LABEL_FRAMES_CHECK, LABEL_BATCH_CHECK}
    for result, docs in results:
        names.discard(result.check_name)
        yield docs_linked(result, run, commit, docs)
    for name in sorted(names):  # a part that could not be read fails its check by name
        yield unreadable_result(name, problems)


def _recorded(cat, batch: str):
    return next((b for b in cat.label_batches() if b.batch_id == batch), None)


def _landed_changed(vs, repo: str, recorded, landing: str, batch: str) -> bool:
    """Whether the batch's files at `landing` differ from those of its recorded landing."""
    paths = [f"{LABEL_UPLOADS}{batch}/{name}" for name in LABEL_FILES]

    def checksums(ref: str) -> list[str | None]:
        return [vs.stat(repo, ref, p).checksum if vs.exists(repo, ref, p) else None for p in paths]

    try:
        return checksums(recorded.landing_commit) != checksums(landing)
    except NotFoundError:  # the recorded landing commit is gone: nothing to compare with
        return True


def _published_before(vs, repo: str, main: str, batch: str) -> str | None:
    """The commit on `main` that published `batch`, if one did."""
    if not vs.exists(repo, main, label_paths(batch)["batch"]):
        return None
    message = f"publish label batch {batch}"
    return next((c.id for c in vs.log(repo, main) if c.message == message), None)
