"""The file-drop labeling service: what a labeling team receives, and the loop around it.

The last test runs the real loop pieces with the service in place of the simulated labelers:
the labeling queue sends a request to the drop folder, a team labels it in "Label Studio",
the import lands it, the label sensor and `label_sets` validate it and publish it to main.
"""

from __future__ import annotations

import dataclasses
import json
import os

import dagster as dg
import polars as pl
import pytest

from assets.definitions import build_definitions
from assets.labels.queue import plan_request
from assets.slices.declarations import SLICES
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.interop import import_labels
from resources.interop.service import FileDropLabelingService, labeling_from_env
from resources.labeling import SimulatedLabelingService
from resources.layout import label_paths, slice_path
from resources.storage import PARQUET, read_table, table_bytes
from resources.store_resource import LocalStoreResource
from resources.tables import SLICE, conform
from tests.interop.conftest import REPO, sorted_boxes
from tests.interop.labeling_team import label_studio_export, write_json


@pytest.fixture
def service(store, home, tmp_path) -> FileDropLabelingService:
    return FileDropLabelingService(
        drop_dir=str(tmp_path / "drop"), store=LocalStoreResource(root=str(home / "store"))
    )


def test_a_request_becomes_a_folder_a_team_can_open(service, request_rows, request_id, tmp_path):
    where = service.submit(request_id, request_rows)

    folder = tmp_path / "drop" / request_id
    assert where == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "coco.json",
        "images",
        "label_config.xml",
        "request.json",
        "tasks.json",
    ]
    pngs = sorted(p.stem for p in (folder / "images").iterdir())
    assert pngs == sorted(request_rows["frame_id"])
    tasks = json.loads((folder / "tasks.json").read_text())
    # With the drop folder as Label Studio's document root, every image resolves.
    for task in tasks:
        relative = task["data"]["image"].removeprefix("/data/local-files/?d=")
        assert (tmp_path / "drop" / relative).is_file()
    assert any("predictions" in task for task in tasks)
    coco = json.loads((folder / "coco.json").read_text())
    assert len(coco["images"]) == request_rows.height and coco["annotations"] == []
    assert json.loads((folder / "request.json").read_text())["request_id"] == request_id


def test_submitting_twice_writes_once(service, request_rows, request_id, tmp_path):
    first = service.submit(request_id, request_rows)
    stamp = os.stat(os.path.join(first, "tasks.json")).st_mtime_ns
    assert service.submit(request_id, request_rows) == first
    assert os.stat(os.path.join(first, "tasks.json")).st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "drop").iterdir()] == [request_id]  # no partial folder


def test_the_environment_picks_the_service(monkeypatch, tmp_path):
    monkeypatch.delenv("FLEETLOOP_LABELING", raising=False)
    assert isinstance(labeling_from_env(), SimulatedLabelingService)
    monkeypatch.setenv("FLEETLOOP_LABELING", "file-drop")
    monkeypatch.setenv("FLEETLOOP_LABELING_DROP", str(tmp_path / "drop"))
    service = labeling_from_env()
    assert isinstance(service, FileDropLabelingService)
    assert service.drop_path() == tmp_path / "drop"
    monkeypatch.setenv("FLEETLOOP_LABELING", "carrier-pigeon")
    with pytest.raises(ValueError, match="simulated or file-drop"):
        labeling_from_env()


def test_the_loop_runs_with_a_labeling_team_instead_of_the_simulated_labelers(
    store, home, fleet, labelers, request_rows, tmp_path
):
    candidates = fleet.frame_ids()[1::4]
    baseline = conform(
        pl.DataFrame({"frame_id": candidates, "slice": "baseline", "rank": range(8), "score": 1.0}),
        SLICE,
    )
    store.put(REPO, "main", slice_path("baseline"), table_bytes(baseline), content_type=PARQUET)
    store.commit(REPO, "main", "baseline slice")
    specs = (dataclasses.replace(SLICES[0], target_size=6),)
    resources = {
        "store": LocalStoreResource(root=str(home / "store")),
        "catalog": CatalogResource(url=f"sqlite:///{tmp_path / 'catalog.db'}"),
        "detector": DetectorResource(),
    }
    resources["labeling"] = FileDropLabelingService(
        drop_dir=str(tmp_path / "drop"), store=resources["store"]
    )
    defs = build_definitions(specs, resources)
    assets = list(defs.assets or [])

    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        queued = dg.materialize(
            assets, selection=["labeling_queue"], instance=instance, resources=resources
        )
        assert queued.success
        # The request already on main was never handed to a service: it goes out too.
        planned = plan_request(specs, {"baseline": baseline}, request_rows)
        picked = planned["frame_id"].to_list()
        folder = tmp_path / "drop" / planned["request_id"][0]
        assert sorted(p.name for p in folder.parent.iterdir()) == sorted(
            [folder.name, request_rows["request_id"][0]]
        )
        tasks = json.loads((folder / "tasks.json").read_text())
        assert [t["data"]["frame_id"] for t in tasks] == picked

        team = labelers.label(picked, "by-the-team")
        file = write_json(tmp_path / "export.json", label_studio_export(tasks, team, 64))
        imported = import_labels(store, REPO, file, "label-studio", "lb-team-1")
        assert imported.request_id == folder.name

        sensor = defs.get_sensor_def("label_batch_sensor")
        with dg.build_sensor_context(
            instance=instance, resources=resources, definitions=defs
        ) as context:
            tick = sensor(context)
        (request,) = tick.run_requests
        instance.add_dynamic_partitions("label_batches", ["lb-team-1"])
        run = dg.materialize(
            assets,
            selection=["label_sets"],
            instance=instance,
            resources=resources,
            partition_key=request.partition_key,
            tags=dict(request.tags),
        )
        assert run.success
        checks = run.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)

    published = read_table(store, REPO, "main", label_paths("lb-team-1")["boxes"])
    assert sorted_boxes(published).height == team.boxes.height
    catalog = resources["catalog"].open()
    (batch,) = catalog.label_batches()
    assert (batch.status, batch.source, batch.request_id) == (
        "published",
        "label-studio",
        folder.name,
    )
    answered = {r.request_id: r.status for r in catalog.requests()}
    assert answered == {folder.name: "answered", request_rows["request_id"][0]: "open"}
