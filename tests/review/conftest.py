"""Fixtures of the review tests: a tiny simulated fleet in a real `LocalStore`, a fresh catalog.

The store (`$FLEETLOOP_HOME/store` of `home`) holds what the review page reads on main: 3 drive
logs of 8 frames, the frames table, a slice `hard` (every third frame, best first) and fleet
predictions made from the simulator's ground truth. Confidences are made up: each frame's
first box is sure (0.9), the others are not (0.3), so the threshold control has work to do.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from starlette.testclient import TestClient

from assets.fleet.ingest import frames_of
from entrypoints.review import create_app
from resources.catalog import PRODUCTION, Catalog
from resources.layout import drive_path, slice_path
from resources.simulation import Fleet, FleetConfig
from resources.storage import PARQUET, table_bytes
from resources.tables import PREDICTIONS, SLICE, conform
from resources.versioning.local import LocalStore
from tests.partitions import put_per_drive, read_fleet

REPO = "drive-data"
SLICE_NAME = "hard"
MODEL = "cone_detector"
VERSION = "v0002"
REVIEWER = "ana"
SURE, UNSURE = 0.9, 0.3
BASE = "http://127.0.0.1"


def fill_store(store: LocalStore) -> None:
    fleet = Fleet(FleetConfig(seed=1, drives=3, frames_per_drive=8))
    store.create_repository(REPO, "main")
    frames = []
    for drive in fleet.drive_ids:
        log = fleet.drive_log(drive)
        store.put(REPO, "main", drive_path(drive), table_bytes(log), content_type=PARQUET)
        frames.append(frames_of(log, drive_path(drive)))
    ids = pl.concat(frames).get_column("frame_id").to_list()
    chosen = ids[::3][::-1]  # stored best first, and not in frames-table order
    members = pl.DataFrame(
        {
            "frame_id": chosen,
            "slice": SLICE_NAME,
            "rank": range(len(chosen)),
            "score": [1.0 - i / 10 for i in range(len(chosen))],
        }
    )
    truth = fleet.ground_truth(ids)
    first = pl.int_range(pl.len()).over("frame_id") == 0
    predictions = truth.with_columns(
        pl.when(first).then(SURE).otherwise(UNSURE).alias("confidence")
    )
    tables = {
        slice_path(SLICE_NAME): conform(members, SLICE),
    }
    put_per_drive(store, REPO, "main", pl.concat(frames), "frames")
    put_per_drive(store, REPO, "main", conform(predictions, PREDICTIONS), "predictions")
    for path, table in tables.items():
        store.put(REPO, "main", path, table_bytes(table), content_type=PARQUET)
    store.commit(REPO, "main", "review test data")


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """A `FLEETLOOP_HOME` whose store holds the review test data (read-only for tests)."""
    home = tmp_path_factory.mktemp("review") / "home"
    fill_store(LocalStore(home / "store"))
    return home


@pytest.fixture(scope="session")
def store(home) -> LocalStore:
    return LocalStore(home / "store")


@pytest.fixture(scope="session")
def frames(store) -> pl.DataFrame:

    return read_fleet(store, REPO, "main", "frames")


@pytest.fixture(scope="session")
def predictions(store) -> pl.DataFrame:

    return read_fleet(store, REPO, "main", "predictions")


@pytest.fixture
def catalog_url(tmp_path, monkeypatch) -> str:
    """A fresh SQLite catalog where `cone_detector` `v0002` is in production; also the CLI's."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("FLEETLOOP_CATALOG_URL", url)
    with Catalog(url) as catalog:
        catalog.register_model(
            MODEL,
            VERSION,
            branch="main",
            commit="c" * 64,
            training_set_commit="t" * 64,
            metrics={},
            card_path=f"models/{MODEL}/{VERSION}/card.md",
        )
        catalog.set_alias(MODEL, PRODUCTION, VERSION)
    return url


@pytest.fixture
def catalog(catalog_url):
    with Catalog(catalog_url) as catalog:
        yield catalog


@pytest.fixture
def client(store, catalog):
    """The review app, 10 frames a page (24 frames: pages of 10, 10 and 4); requests carry the
    `Origin` a browser sends with the page's own form posts."""
    app = create_app(store, catalog, repo=REPO, reviewer=REVIEWER, per_page=10)
    with TestClient(app, base_url=BASE, headers={"origin": BASE}) as client:
        yield client


def frame_ids_on(html: str) -> list[str]:
    """The frame ids of a page's cards, in page order."""
    import re

    return re.findall(r'<li class="card[^"]*" id="[^"]*" data-frame-id="([^"]+)"', html)


def card(html: str, frame_id: str) -> str:
    """The HTML of one frame's card."""
    start = html.index(f'data-frame-id="{frame_id}"')
    end = html.find('<li class="card', start)
    return html[start : end if end != -1 else len(html)]


@pytest.fixture
def bad_inputs(request):
    """Count the bad inputs a test saw refused with a clear error (`bench/faults_input.py`)."""
    from tests.catalog.faults import counter

    return counter(request, "bad_inputs")
