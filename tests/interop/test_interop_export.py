"""Export of a labeling request: Label Studio tasks and config, COCO, and the frames' PNGs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from resources.interop import (
    InteropError,
    RequestNotFoundError,
    export_request,
    label_config,
)
from resources.simulation.png import SIGNATURE
from resources.tables import CLASSES
from tests.interop.conftest import REPO, SURE
from tests.partitions import read_fleet


def test_label_studio_tasks_match_the_request_and_the_config(store, request_rows, tmp_path):
    result = export_request(
        store, REPO, request_rows["request_id"][0], tmp_path / "out", formats=["label-studio"]
    )
    tasks = json.loads((tmp_path / "out" / "tasks.json").read_text())
    assert [t["data"]["frame_id"] for t in tasks] == request_rows["frame_id"].to_list()
    assert result.frames == len(tasks) == request_rows.height
    first = tasks[0]["data"]
    assert first["image"] == f"/data/local-files/?d=images/{first['frame_id']}.png"
    assert first["request_id"] == request_rows["request_id"][0]
    assert first["slice"] == request_rows["slice"][0]

    config = ET.fromstring((tmp_path / "out" / "label_config.xml").read_text())
    (image,) = config.iter("Image")
    (control,) = config.iter("RectangleLabels")
    assert image.get("value") == "$image"
    assert {label.get("value") for label in control.iter("Label")} == set(CLASSES)
    results = [r for t in tasks for p in t.get("predictions", []) for r in p["result"]]
    assert results, "the production model's sure boxes pre-annotate the tasks"
    assert {(r["from_name"], r["to_name"]) for r in results} == {
        (control.get("name"), image.get("name"))
    }
    assert control.get("toName") == image.get("name")
    assert all(r["type"] == "rectanglelabels" and r["score"] >= 0.5 for r in results)
    assert label_config() == (tmp_path / "out" / "label_config.xml").read_text()


def test_predictions_are_percent_of_the_frame(store, request_rows, tmp_path):
    export_request(store, REPO, request_rows["request_id"][0], tmp_path, formats=["label-studio"])
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    predictions = read_fleet(store, REPO, "main", "predictions")
    sure = predictions.filter(
        pl.col("frame_id").is_in(request_rows["frame_id"].implode())
        & ((pl.col("confidence") - SURE).abs() < 1e-6)
    )
    by_frame = {row["frame_id"]: row for row in sure.iter_rows(named=True)}
    checked = 0
    for task in tasks:
        for result in task.get("predictions", [{"result": []}])[0]["result"]:
            truth = by_frame[task["data"]["frame_id"]]
            w, h = result["original_width"], result["original_height"]
            v = result["value"]
            assert (w, h) == (64, 64) and v["rotation"] == 0
            assert v["x"] * w / 100 == pytest.approx(truth["x0"], abs=1e-4)
            assert v["y"] * h / 100 == pytest.approx(truth["y0"], abs=1e-4)
            assert (v["x"] + v["width"]) * w / 100 == pytest.approx(truth["x1"], abs=1e-4)
            assert (v["y"] + v["height"]) * h / 100 == pytest.approx(truth["y1"], abs=1e-4)
            assert v["rectanglelabels"] == [truth["cls"]]
            checked += 1
    assert checked == sure.height > 0  # unsure boxes (0.3) stay out


def test_images_are_the_drive_log_pngs(store, logs, request_rows, tmp_path):
    export_request(store, REPO, request_rows["request_id"][0], tmp_path, formats=["coco"])
    written = sorted(p.stem for p in (tmp_path / "images").glob("*.png"))
    assert written == sorted(request_rows["frame_id"].to_list())
    fid = request_rows["frame_id"][5]
    drive, index = fid.split("-")
    png = (tmp_path / "images" / f"{fid}.png").read_bytes()
    assert png.startswith(SIGNATURE)
    assert png == logs[drive]["image"][int(index)]


def test_coco_lists_images_and_categories_without_labels_by_default(store, request_rows, tmp_path):
    export_request(store, REPO, request_rows["request_id"][0], tmp_path, formats=["coco"])
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == [
        f"images/{f}.png" for f in request_rows["frame_id"]
    ]
    assert {(i["width"], i["height"]) for i in coco["images"]} == {(64, 64)}
    assert len({i["id"] for i in coco["images"]}) == request_rows.height
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    assert coco["annotations"] == []  # COCO cannot tell predictions from labels
    assert not (tmp_path / "tasks.json").exists()


def test_coco_predictions_on_request_are_pixel_xywh(store, request_rows, tmp_path):
    export_request(
        store, REPO, request_rows["request_id"][0], tmp_path, formats=["coco"], predictions=True
    )
    coco = json.loads((tmp_path / "coco.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    frames = {i["id"]: i["file_name"] for i in coco["images"]}
    predictions = read_fleet(store, REPO, "main", "predictions")
    assert coco["annotations"]
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        fid = frames[a["image_id"]].removeprefix("images/").removesuffix(".png")
        match = predictions.filter(
            (pl.col("frame_id") == fid) & ((pl.col("x0") - x).abs() < 1e-4)
        ).row(0, named=True)
        assert (x + w, y + h) == pytest.approx((match["x1"], match["y1"]), abs=1e-4)
        assert names[a["category_id"]] == match["cls"]
        assert a["area"] == pytest.approx(w * h) and a["iscrowd"] == 0 and a["score"] >= 0.5


def test_manifest_says_how_to_send_labels_back(store, request_rows, tmp_path):
    request_id = request_rows["request_id"][0]
    result = export_request(store, REPO, request_id, tmp_path)
    manifest = json.loads((tmp_path / "request.json").read_text())
    assert manifest["request_id"] == request_id
    assert manifest["frames"] == request_rows.height
    assert sum(manifest["slices"].values()) == request_rows.height
    assert manifest["source"]["commit"] == result.commit == store.resolve(REPO, "main")
    assert f"--request-id {request_id}" in manifest["return_labels"]
    assert set(result.files) == {
        "images/",
        "tasks.json",
        "label_config.xml",
        "coco.json",
        "request.json",
    }


def test_unknown_request_and_format_are_refused(store, tmp_path):
    with pytest.raises(RequestNotFoundError, match="req-0000000000aa"):
        export_request(store, REPO, "req-0000000000aa", tmp_path / "x")
    with pytest.raises(InteropError, match="yolo"):
        export_request(store, REPO, "req-0000000000aa", tmp_path / "x", formats=["yolo"])
    assert not (tmp_path / "x").exists()
