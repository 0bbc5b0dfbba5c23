"""One asset per slice declaration (`<name>_slice`), writing `slices/<name>.parquet`.

The asset's code version is the hash of its declaration, so editing a declaration makes
declarative automation rematerialize that slice and what is downstream of it, nothing else.
"""

from collections.abc import Sequence

import dagster as dg

from assets.automation import after_upstream_or_code_change
from assets.markdown import table_md
from assets.paths import (
    EMBEDDINGS_PATH,
    FRAMES_PATH,
    PREDICTIONS_PATH,
    SIGNALS_PATH,
    slice_path,
)
from assets.publishing import RunBranch
from assets.results import published
from assets.slices.declarations import Similarity, SliceSpec
from assets.slices.selection import select
from assets.storage import read_table
from resources.catalog_resource import CatalogResource
from resources.store_resource import VersionedStoreResource

FRAME_COLUMNS = ["frame_id", "weather", "time_of_day", "drive_id"]


def build_slice_asset(spec: SliceSpec) -> dg.AssetsDefinition:
    deps = ["frames"]
    if spec.needs_model:
        deps.append("fleet_predictions")
    if spec.needs_signals or spec.needs_flags:
        # cut once per production model, after its signals: the flags read then include those
        # operators made while the loop ran the newly promoted model over the fleet
        deps.append("fleet_signals")

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
    ):
        vs, repo = store.ensure_repository(), store.repository
        run = RunBranch(vs, repo, context.run.run_id, spec.asset_name)
        frames = read_table(vs, repo, run.base, FRAMES_PATH, FRAME_COLUMNS)
        predictions = (
            read_table(vs, repo, run.base, PREDICTIONS_PATH) if spec.needs_predictions else None
        )
        signals = read_table(vs, repo, run.base, SIGNALS_PATH) if spec.needs_signals else None
        embeddings = (
            read_table(vs, repo, run.base, EMBEDDINGS_PATH)
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
