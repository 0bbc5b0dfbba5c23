"""Round trips: export a request, let a team label it, import the file, land the batch.

The landed batch must equal the simulated labelers' batch (within float32 rounding), carry
where it came from, and pass the same GX checks `label_sets` runs before publishing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from quality.checks import check_label_batch, check_label_frames
from resources.interop import export_request, import_labels
from tests.interop.conftest import REPO, landed, sorted_boxes
from tests.interop.labeling_team import coco_export, label_studio_export, write_json


@pytest.fixture
def labeled(labelers, request_rows):
    return labelers.label(request_rows["frame_id"].to_list(), "team-batch")


def test_label_studio_round_trip(store, request_id, request_rows, labeled, tmp_path):
    export_request(store, REPO, request_id, tmp_path / "out", formats=["label-studio"])
    tasks = json.loads((tmp_path / "out" / "tasks.json").read_text())
    file = write_json(tmp_path / "export.json", label_studio_export(tasks, labeled, 64))

    result = import_labels(store, REPO, file, "label-studio", "lb-ls-1")

    frames, boxes, info = landed(store, "lb-ls-1")
    assert_frame_equal(sorted_boxes(boxes), sorted_boxes(labeled.boxes), abs_tol=1e-3)
    assert frames["frame_id"].to_list() == request_rows["frame_id"].to_list()
    assert frames["batch_id"].unique().to_list() == ["lb-ls-1"]
    assert frames["labeler"].unique().to_list() == ["label-studio:7"]
    assert frames["labeled_at"].unique().to_list() == [datetime(2026, 3, 9, 22, 20, tzinfo=UTC)]
    negatives = set(frames["frame_id"]) - set(boxes["frame_id"])
    assert negatives, "frames without cones are listed, as true negatives"
    assert info == {
        "source": "label-studio",
        "request_id": request_id,  # read from the tasks' data
        "labeler": "label-studio:7",
        "file": "export.json",
    }
    assert (result.frames, result.boxes, result.skipped) == (
        request_rows.height,
        labeled.boxes.height,
        0,
    )


def test_coco_round_trip(store, request_id, request_rows, labeled, tmp_path):
    export_request(store, REPO, request_id, tmp_path / "out", formats=["coco"])
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    file = write_json(tmp_path / "instances.json", coco_export(coco, labeled))

    result = import_labels(
        store, REPO, file, "coco", "lb-coco-1", request_id=request_id, labeler="acme"
    )

    frames, boxes, info = landed(store, "lb-coco-1")
    assert_frame_equal(sorted_boxes(boxes), sorted_boxes(labeled.boxes), abs_tol=1e-3)
    assert sorted(frames["frame_id"]) == sorted(request_rows["frame_id"])
    assert frames["labeler"].unique().to_list() == ["acme"]
    assert info == {
        "source": "coco",
        "request_id": request_id,
        "labeler": "acme",
        "file": "instances.json",
    }
    assert result.commit == store.resolve(REPO, "landing")


def test_latest_usable_annotation_wins_and_skipped_tasks_are_left_out(
    store, request_id, request_rows, labeled, tmp_path
):
    export_request(store, REPO, request_id, tmp_path / "out", formats=["label-studio"])
    tasks = json.loads((tmp_path / "out" / "tasks.json").read_text())
    exported = label_studio_export(tasks, labeled, 64)
    reviewed, skipped, unlabeled = exported[0], exported[1], exported[2]
    current = reviewed["annotations"][0]
    choice = {"id": "c1", "type": "choices", "from_name": "weather", "to_name": "image"}
    current["result"].append({**choice, "value": {"choices": ["rain"]}})  # holds no box
    stale = {**current, "id": 1, "created_at": "2026-03-01T08:00:00Z", "result": []}
    newer_but_cancelled = {**current, "id": 2, "created_at": "2026-03-10T08:00:00Z"}
    newer_but_cancelled.update(was_cancelled=True, result=[])
    reviewed["annotations"] = [current, stale, newer_but_cancelled]
    skipped["annotations"][0].update(was_cancelled=True)
    unlabeled["annotations"] = []
    file = write_json(tmp_path / "export.json", exported)

    result = import_labels(store, REPO, file, "label-studio", "lb-ls-2", labeler="acme")

    frames, boxes, info = landed(store, "lb-ls-2")
    left_out = {skipped["data"]["frame_id"], unlabeled["data"]["frame_id"]}
    assert set(frames["frame_id"]) == set(request_rows["frame_id"]) - left_out
    expected = labeled.boxes.filter(~pl.col("frame_id").is_in(list(left_out)))
    assert_frame_equal(sorted_boxes(boxes), sorted_boxes(expected), abs_tol=1e-3)
    assert result.skipped == 2 and info["labeler"] == "acme"


def test_boxes_over_the_edge_are_clipped_and_repeats_kept_once(
    store, request_id, labeled, tmp_path
):
    export_request(store, REPO, request_id, tmp_path / "out", formats=["label-studio"])
    tasks = json.loads((tmp_path / "out" / "tasks.json").read_text())
    exported = label_studio_export(tasks, labeled, 64)
    task = next(t for t in exported if t["annotations"][0]["result"])
    results = task["annotations"][0]["result"]
    results.append({**results[0], "id": "again"})  # the same box drawn twice
    edge = {
        "id": "edge",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "value": {"x": 95.0, "y": -2.0, "width": 7.0, "height": 10.0},
    }
    edge["value"]["rectanglelabels"] = ["orange_cone"]
    results.append(edge)  # no original_width: the fleet's frame size is used
    file = write_json(tmp_path / "export.json", exported)

    result = import_labels(store, REPO, file, "label-studio", "lb-ls-3")

    _, boxes, _ = landed(store, "lb-ls-3")
    on_frame = boxes.filter(pl.col("frame_id") == task["data"]["frame_id"])
    clipped = on_frame.filter(pl.col("x1") == 64.0).select("x0", "y0", "x1", "y1")
    assert clipped.rows() == [pytest.approx((60.8, 0.0, 64.0, 5.12))]
    assert result.duplicates == 1
    assert boxes.height == labeled.boxes.height + 1


def test_landed_batch_passes_the_label_sets_checks(store, request_id, labeled, fleet, tmp_path):
    export_request(store, REPO, request_id, tmp_path / "out", formats=["coco"])
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    file = write_json(tmp_path / "instances.json", coco_export(coco, labeled))
    import_labels(store, REPO, file, "coco", "lb-gx")
    frames, boxes, _ = landed(store, "lb-gx")

    fleet_ids = fleet.frame_ids()
    boxes_result, _ = check_label_batch(
        boxes, image_width=64, image_height=64, known_frame_ids=set(frames["frame_id"])
    )
    frames_result, _ = check_label_frames(frames, fleet_ids)
    assert boxes_result.passed, boxes_result.metadata
    assert frames_result.passed, frames_result.metadata
