"""Bad files are refused whole: the error names the file and each offending task, image or
annotation, and nothing reaches the landing branch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from resources.interop import (
    BatchRejectedError,
    MalformedFileError,
    RequestNotFoundError,
    export_request,
    import_labels,
)
from tests.interop.conftest import REPO, fill_store, uploads
from tests.interop.labeling_team import coco_export, label_studio_export, write_json


@pytest.fixture(scope="module")
def shared(tmp_path_factory, fleet, logs, labelers, request_rows):
    """One store for the module (nothing here lands) and a valid Label Studio export and COCO
    file of its request."""
    root = tmp_path_factory.mktemp("malformed")
    store = fill_store(root / "store", fleet, logs, request_rows)
    export_request(store, REPO, request_rows["request_id"][0], root / "out")
    team = labelers.label(request_rows["frame_id"].to_list(), "team")
    tasks = json.loads((root / "out" / "tasks.json").read_text())
    coco = json.loads((root / "out" / "coco.json").read_text())
    ls = label_studio_export(tasks, team, 64)
    boxed = next(i for i, t in enumerate(ls) if t["annotations"][0]["result"])
    ls.insert(0, ls.pop(boxed))  # the first task has a box to break
    for number, task in enumerate(ls, start=1):
        task["id"], task["annotations"][0]["id"] = number, 1000 + number
    return store, {"label-studio": ls, "coco": coco_export(coco, team)}


@pytest.fixture
def exported(shared) -> dict[str, Any]:
    """Fresh copies of the valid files, for a test to break."""
    return copy.deepcopy(shared[1])


@pytest.fixture
def store(shared):
    """The module's store, with nothing landed (each test checks it stays so)."""
    assert uploads(shared[0]) == []
    return shared[0]


def first_result(ls: list) -> dict[str, Any]:
    return ls[0]["annotations"][0]["result"][0]


def set_value(**changes) -> Callable[[list], None]:
    return lambda ls: first_result(ls)["value"].update(changes)


LABEL_STUDIO_BREAKAGES = {
    "unknown class": (
        set_value(rectanglelabels=["traffic_light"]),
        "unknown class 'traffic_light'",
    ),
    "two classes": (
        set_value(rectanglelabels=["orange_cone", "green_cone"]),
        "exactly one class",
    ),
    "no width": (lambda ls: first_result(ls)["value"].pop("width"), "value.width must be a number"),
    "text coordinate": (set_value(x="12"), "value.x must be a number, not '12'"),
    "outside the image": (set_value(x=150.0), "lies outside the 64x64 image"),
    "negative size": (set_value(height=-3.0), "must be positive"),
    "rotated": (set_value(rotation=30), "a rotated box"),
    "box without class": (
        lambda ls: first_result(ls).update(type="rectangle"),
        "a 'rectangle' region",
    ),
    "other config's box": (
        lambda ls: first_result(ls).update(type="labels"),
        "a 'labels' region: draw boxes with the config's RectangleLabels",
    ),
    "unknown frame": (
        lambda ls: ls[0]["data"].update(frame_id="d9999-00000"),
        "'d9999-00000' is not a frame of the fleet",
    ),
    "no data": (lambda ls: ls[0].pop("data"), "task 1: no 'data' object"),
    "frame twice": (lambda ls: ls.append(ls[0] | {"id": 99}), "task 99 (frame"),
    "annotations not a list": (lambda ls: ls[0].update(annotations={}), "is not a list"),
    "no boxes at all": (
        lambda ls: [t["annotations"][0].update(result=[]) for t in ls],
        "a label batch needs at least one box",
    ),
}


@pytest.mark.parametrize("breakage", LABEL_STUDIO_BREAKAGES)
def test_bad_label_studio_exports_are_refused(store, exported, tmp_path, breakage, bad_inputs):
    damage, message = LABEL_STUDIO_BREAKAGES[breakage]
    ls = exported["label-studio"]
    damage(ls)
    file = write_json(tmp_path / "export.json", ls)
    with pytest.raises(MalformedFileError, match="export.json") as raised:
        import_labels(store, REPO, file, "label-studio", "lb-bad")
    assert message in str(raised.value)
    assert raised.value.file == str(file)
    assert uploads(store) == []
    bad_inputs.count()


def test_a_problem_names_task_annotation_and_result(store, exported, tmp_path):
    ls = exported["label-studio"]
    set_value(rectanglelabels=["tree"])(ls)
    file = write_json(tmp_path / "export.json", ls)
    with pytest.raises(MalformedFileError) as raised:
        import_labels(store, REPO, file, "label-studio", "lb-bad")
    fid = ls[0]["data"]["frame_id"]
    result = first_result(ls)["id"]
    assert raised.value.problems == [
        f"task 1 (frame {fid}), annotation 1001, result {result}: unknown class 'tree' "
        "(known: orange_cone, green_cone)"
    ]


def test_many_problems_are_listed_up_to_ten(store, exported, tmp_path):
    ls = exported["label-studio"]
    for task in ls:
        task["data"]["frame_id"] = f"nope-{task['id']}"
    file = write_json(tmp_path / "export.json", ls)
    with pytest.raises(MalformedFileError) as raised:
        import_labels(store, REPO, file, "label-studio", "lb-bad")
    assert len(raised.value.problems) == len(ls) == 11
    assert str(raised.value).endswith("and 1 more problem(s)")


def drop_images(coco: dict) -> None:
    coco.pop("images")


COCO_BREAKAGES = {
    "no images": (drop_images, "no 'images' list"),
    "short bbox": (
        lambda c: c["annotations"][0].update(bbox=[1, 2, 3]),
        "annotation 0: bbox must be [x, y, width, height]",
    ),
    "unknown category": (lambda c: c["annotations"][0].update(category_id=9), "category_id 9"),
    "unknown image": (lambda c: c["annotations"][0].update(image_id=999), "image_id 999"),
    "unknown frame": (
        lambda c: c["images"][0].update(file_name="images/elsewhere.png"),
        "image 1 (images/elsewhere.png): 'elsewhere' is not a frame of the fleet",
    ),
    "unknown class": (
        lambda c: c["categories"][0].update(name="tree"),
        "unknown class 'tree'",
    ),
    "no size": (lambda c: c["images"][0].pop("width"), "positive integer 'width' and 'height'"),
    "zero width box": (
        lambda c: c["annotations"][0]["bbox"].__setitem__(2, 0),
        "width and height must be positive",
    ),
}


@pytest.mark.parametrize("breakage", COCO_BREAKAGES)
def test_bad_coco_files_are_refused(store, exported, tmp_path, breakage, bad_inputs):
    damage, message = COCO_BREAKAGES[breakage]
    coco = exported["coco"]
    damage(coco)
    file = write_json(tmp_path / "instances.json", coco)
    with pytest.raises(MalformedFileError, match="instances.json") as raised:
        import_labels(store, REPO, file, "coco", "lb-bad")
    assert message in str(raised.value)
    assert uploads(store) == []
    bad_inputs.count()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "line 1 column 2: not valid JSON"),
        ('"hello"', "expected a list of tasks"),
        (b"\xff\xfe".decode("latin-1"), "not valid JSON"),
    ],
)
def test_files_that_are_not_exports_are_refused(store, tmp_path, content, message, bad_inputs):
    file = tmp_path / "export.json"
    file.write_text(content)
    with pytest.raises(MalformedFileError, match=message):
        import_labels(store, REPO, file, "label-studio", "lb-bad")
    assert uploads(store) == []
    bad_inputs.count()


def test_batch_ids_are_new_names(exported, fleet, logs, request_rows, tmp_path):
    store = fill_store(tmp_path / "store", fleet, logs, request_rows)
    file = write_json(tmp_path / "export.json", exported["label-studio"])
    with pytest.raises(BatchRejectedError, match="is not a batch id"):
        import_labels(store, REPO, file, "label-studio", "../labels")
    import_labels(store, REPO, file, "label-studio", "lb-1")
    landed = uploads(store)
    with pytest.raises(BatchRejectedError, match="already exists"):
        import_labels(store, REPO, file, "label-studio", "lb-1")
    assert uploads(store) == landed


def test_an_unknown_request_is_refused(store, exported, tmp_path):
    file = write_json(tmp_path / "instances.json", exported["coco"])
    with pytest.raises(RequestNotFoundError, match="req-0000000000bb"):
        import_labels(store, REPO, file, "coco", "lb-1", request_id="req-0000000000bb")
    assert uploads(store) == []
