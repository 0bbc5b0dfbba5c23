"""`CatalogResource`: the catalog as assets and sensors see it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg

from resources.catalog import Catalog
from resources.catalog_resource import CatalogResource


def test_open_returns_one_catalog_per_url_and_process(tmp_path):
    resource = CatalogResource(url=f"sqlite:///{tmp_path / 'a.db'}")
    catalog = resource.open()
    assert isinstance(catalog, Catalog)
    assert catalog.url == f"sqlite:///{tmp_path / 'a.db'}"
    assert resource.open() is catalog
    assert CatalogResource(url=f"sqlite:///{tmp_path / 'b.db'}").open() is not catalog


def test_an_empty_url_means_the_environment_then_fleetloop_home(monkeypatch, tmp_path):
    monkeypatch.delenv("FLEETLOOP_CATALOG_URL", raising=False)
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path / "home"))
    assert CatalogResource().open().url == f"sqlite:///{tmp_path / 'home' / 'catalog.db'}"
    monkeypatch.setenv("FLEETLOOP_CATALOG_URL", f"sqlite:///{tmp_path / 'team.db'}")
    assert CatalogResource().open().url == f"sqlite:///{tmp_path / 'team.db'}"


def test_an_asset_records_to_the_catalog(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"

    @dg.asset
    def candidate_model(catalog: CatalogResource) -> dg.MaterializeResult:
        started = datetime.now(UTC)
        model = catalog.open().register_model(
            "cone_detector", "1", branch="run/1", commit="c" * 64,
            training_set_commit="t" * 64, metrics={"ap50": 0.61}, card_path="card.md",
        )  # fmt: skip
        catalog.open().record_stage(
            "cycle-1", "training", started_at=started, ended_at=datetime.now(UTC)
        )
        return dg.MaterializeResult(metadata={"catalog_id": model.id, "pid": os.getpid()})

    for _ in range(2):  # a re-run must not duplicate anything
        result = dg.materialize([candidate_model], resources={"catalog": CatalogResource(url=url)})
        assert result.success
    with Catalog(url) as catalog:
        assert [m.version for m in catalog.models("cone_detector")] == ["1"]
        assert [s.stage for s in catalog.stages("cycle-1")] == ["training"]
