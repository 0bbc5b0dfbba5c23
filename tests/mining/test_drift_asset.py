"""`drift_report` run by Dagster on the embedded store, with synthetic embeddings on main."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.mining.assets import embedding_table
from assets.mining.drift import DRIFT_CHECK, DRIFT_MAP_PATH, DRIFT_REPORT_PATH, drift_report
from assets.publishing import ASSET_KEY
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.layout import MANIFEST_PATH
from resources.storage import table_bytes
from resources.store_resource import LocalStoreResource
from tests.partitions import put_per_drive

DIMS = 64
MODEL = "cone_detector"
TRAIN, HOLDOUT, PRODUCTION = 400, 100, 800


def fleet_on_main(
    resource: LocalStoreResource,
    catalog: CatalogResource,
    *,
    shifted: bool,
    manifest: bool = True,
) -> None:
    """Training, holdout and unlabeled production frames with N(0, 1) embeddings; `shifted`
    makes 80% of production rainy and moves rainy production frames by +1.5 in 8 dims."""
    rng = np.random.default_rng(1)
    n = TRAIN + HOLDOUT + PRODUCTION
    ids = [f"d{i // 24:03d}-{i % 24:05d}" for i in range(n)]
    production = np.arange(n) >= TRAIN + HOLDOUT
    rainy = rng.random(n) < np.where(production & shifted, 0.8, 0.15)
    vectors = rng.standard_normal((n, DIMS)).astype(np.float32)
    if shifted:
        vectors[production & rainy, :8] += 1.5
    frames = pl.DataFrame(
        {
            "frame_id": ids,
            "weather": np.where(rainy, "rain", rng.choice(["clear", "cloudy"], n)),
            "time_of_day": rng.choice(["day", "dusk", "night"], n),
        }
    )
    store, repo = resource.ensure_repository(), resource.repository
    put_per_drive(store, repo, "main", frames, "frames")
    store.commit(repo, "main", "frames")
    embeddings = embedding_table(pl.Series(ids), [vectors])
    put_per_drive(store, repo, "main", embeddings, "embeddings")
    store.commit(
        repo, "main", "embeddings", metadata={ASSET_KEY: "fleet_predictions", "model_version": "m1"}
    )
    if manifest:
        table = pl.DataFrame(
            {
                "frame_id": ids[: TRAIN + HOLDOUT],
                "split": ["train"] * TRAIN + ["eval"] * HOLDOUT,
                "slice": ["baseline"] * (TRAIN + HOLDOUT),
            }
        )
        store.put(repo, "main", MANIFEST_PATH, table_bytes(table))
        commit = store.commit(repo, "main", "training set").id
        deploy(catalog, commit)


def deploy(catalog: CatalogResource, commit: str) -> None:
    """Register model m1, trained at `commit`, as the deployed (production) model."""
    cat = catalog.open()
    cat.register_model(
        MODEL,
        "m1",
        branch="main",
        commit=commit,
        training_set_commit=commit,
        metrics={},
        card_path="models/cone_detector/m1/model_card.md",
    )
    cat.set_alias(MODEL, "production", "m1")


@pytest.fixture
def resource(tmp_path) -> LocalStoreResource:
    return LocalStoreResource(root=str(tmp_path / "store"))


@pytest.fixture
def catalog(tmp_path) -> CatalogResource:
    return CatalogResource(url=f"sqlite:///{tmp_path / 'catalog.db'}")


def resources(store, catalog) -> dict:
    return {"store": store, "catalog": catalog, "detector": DetectorResource(name=MODEL)}


@pytest.mark.parametrize("shifted", [False, True], ids=["same", "shifted"])
def test_drift_report_warns_only_when_production_moved(resource, catalog, shifted):
    fleet_on_main(resource, catalog, shifted=shifted)
    result = dg.materialize([drift_report], resources=resources(resource, catalog))
    assert result.success  # drift warns, it never fails the run
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == DRIFT_CHECK
    assert check.passed is not shifted
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert {"reason", "mmd2", "p_value"} <= set(check.metadata)
    (materialization,) = result.asset_materializations_for_node("drift_report")
    assert "mmd2" in materialization.metadata
    assert materialization.metadata["drifted"].value is shifted
    assert "data:image/png;base64," in materialization.metadata["drift_map"].value

    store, repo = resource.open(), resource.repository
    report = json.loads(store.get(repo, "main", DRIFT_REPORT_PATH))
    assert report["drifted"] is shifted
    assert report["train_frames"] == TRAIN
    assert report["production_frames"] == PRODUCTION  # the eval split is not production
    assert report["model_version"] == "m1"
    rain = next(s for s in report["slices"] if s["column"] == "weather" and s["value"] == "rain")
    assert (rain["coverage"] < 0.8) is shifted
    assert store.get(repo, "main", DRIFT_MAP_PATH).startswith(b"\x89PNG\r\n\x1a\n")


def test_without_a_deployed_model_the_run_fails_and_main_is_unchanged(resource, catalog):
    fleet_on_main(resource, catalog, shifted=False, manifest=False)
    store, repo = resource.open(), resource.repository
    head = store.resolve(repo, "main")
    result = dg.materialize(
        [drift_report], resources=resources(resource, catalog), raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "no model deployed yet" in failure.step_failure_data.error.message
    assert store.resolve(repo, "main") == head
    assert not store.exists(repo, "main", DRIFT_REPORT_PATH)
