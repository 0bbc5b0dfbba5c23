"""A small simulated fleet in a real `LocalStore`, with a labeling request published on main.

The store holds what the labeling queue and the fleet predictions would have left on main:
4 drive logs of 8 frames, the frames table, request `REQUEST_ID` (a dozen frames, some with
cones, some without) and fleet predictions made from the ground truth (each frame's first box
sure at 0.9, the others unsure at 0.3, so the score threshold has work to do).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from assets.fleet.ingest import frames_of
from assets.labels.queue import request_id_for
from resources.landing import LABEL_UPLOADS, LANDING_BRANCH
from resources.layout import drive_path, request_path
from resources.simulation import Fleet, FleetConfig, SimulatedLabelers
from resources.storage import PARQUET, read_table, table_bytes
from resources.tables import LABEL_REQUEST, PREDICTIONS, conform
from resources.versioning.local import LocalStore
from tests.partitions import put_per_drive

REPO = "drive-data"
SURE, UNSURE = 0.9, 0.3


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return Fleet(FleetConfig(seed=1, drives=4, frames_per_drive=8))


@pytest.fixture(scope="session")
def logs(fleet) -> dict[str, pl.DataFrame]:
    return {drive: fleet.drive_log(drive) for drive in fleet.drive_ids}


@pytest.fixture(scope="session")
def labelers(fleet) -> SimulatedLabelers:
    return SimulatedLabelers(fleet, seed=1, name="acme-labeling")


@pytest.fixture(scope="session")
def request_rows(fleet) -> pl.DataFrame:
    """Every third frame of the fleet, best first; slices by drive, as the queue plans them."""
    ids = fleet.frame_ids()[::3]
    slices = ["rain", "green_cones", "baseline", "holdout"]
    return conform(
        pl.DataFrame(
            {
                "request_id": request_id_for(ids),
                "frame_id": ids,
                "slice": [slices[int(f[1:5]) % 4] for f in ids],
                "rank": range(len(ids)),
            }
        ),
        LABEL_REQUEST,
    )


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A `FLEETLOOP_HOME` (also the CLI's) whose store holds the fleet and the request."""
    home = tmp_path / "home"
    monkeypatch.setenv("FLEETLOOP_HOME", str(home))
    monkeypatch.setenv("FLEETLOOP_STORE", "local")
    monkeypatch.delenv("FLEETLOOP_REPOSITORY", raising=False)
    return home


@pytest.fixture
def store(home, fleet, logs, request_rows) -> LocalStore:
    return fill_store(home / "store", fleet, logs, request_rows)


def fill_store(
    root: Path, fleet: Fleet, logs: dict[str, pl.DataFrame], request_rows: pl.DataFrame
) -> LocalStore:
    store = LocalStore(root)
    store.create_repository(REPO, "main")
    frames = []
    for drive, log in logs.items():
        store.put(REPO, "main", drive_path(drive), table_bytes(log), content_type=PARQUET)
        frames.append(frames_of(log, drive_path(drive)))
    truth = fleet.ground_truth(fleet.frame_ids())
    first = pl.int_range(pl.len()).over("frame_id") == 0
    predictions = truth.with_columns(
        pl.when(first).then(SURE).otherwise(UNSURE).alias("confidence")
    )
    request_id = request_rows["request_id"][0]
    tables = {
        request_path(request_id): request_rows,
    }
    put_per_drive(store, REPO, "main", pl.concat(frames), "frames")
    put_per_drive(store, REPO, "main", conform(predictions, PREDICTIONS), "predictions")
    for path, table in tables.items():
        store.put(REPO, "main", path, table_bytes(table), content_type=PARQUET)
    store.commit(REPO, "main", "interop test data")
    return store


@pytest.fixture
def request_id(request_rows) -> str:
    return request_rows["request_id"][0]


def landed(store: LocalStore, batch_id: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The frames, boxes and batch.json of a batch on the landing branch."""
    base = f"{LABEL_UPLOADS}{batch_id}/"
    frames = read_table(store, REPO, LANDING_BRANCH, f"{base}frames.parquet")
    boxes = read_table(store, REPO, LANDING_BRANCH, f"{base}boxes.parquet")
    info = json.loads(store.get(REPO, LANDING_BRANCH, f"{base}batch.json"))
    return frames, boxes, info


def uploads(store: LocalStore) -> list[str]:
    """Every label upload on the landing branch (none when it does not exist yet)."""
    if LANDING_BRANCH not in {b.name for b in store.list_branches(REPO)}:
        return []
    return [e.path for e in store.list_objects(REPO, LANDING_BRANCH, LABEL_UPLOADS)]


def sorted_boxes(boxes: pl.DataFrame) -> pl.DataFrame:
    return boxes.select("frame_id", "x0", "y0", "x1", "y1", "cls").sort(
        "frame_id", "cls", "x0", "y0"
    )


@pytest.fixture
def bad_inputs(request):
    """Count the bad inputs a test saw refused with a clear error (`bench/faults_input.py`)."""
    from tests.catalog.faults import counter

    return counter(request, "bad_inputs")
