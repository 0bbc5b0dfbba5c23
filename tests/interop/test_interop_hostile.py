"""Hostile label files: whatever a Label Studio export or COCO file holds, importing it ends in
a result or in one `MalformedFileError` naming the file, never in a traceback, and nothing
lands. Fixed cases for the known ways (deep nesting, integers of thousands of digits,
unhashable ids, out-of-range dates, wrong types, request ids that are paths), some through the
CLI too; `test_interop_hostile_properties.py` generates hostile JSON with hypothesis.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from resources.interop import (
    InvalidRequestIdError,
    MalformedFileError,
    export_request,
    import_labels,
)
from resources.interop import importing as importing_module
from resources.interop.importing import read_label_file
from resources.interop.records import CLOCK_SKEW, EARLIEST_LABEL
from tests.interop.conftest import REPO, fill_store, uploads
from tests.interop.labeling_team import coco_export, label_studio_export, write_json

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory, fleet, logs, labelers, request_rows):
    """One store for the module (nothing here lands; each test checks) as the CLI's home, and
    valid files of its request to break."""
    root = tmp_path_factory.mktemp("hostile")
    store = fill_store(root / "home" / "store", fleet, logs, request_rows)
    export_request(store, REPO, request_rows["request_id"][0], root / "out")
    team = labelers.label(request_rows["frame_id"].to_list(), "team")
    tasks = json.loads((root / "out" / "tasks.json").read_text())
    document = json.loads((root / "out" / "coco.json").read_text())
    ls = label_studio_export(tasks, team, 64)
    boxed = next(i for i, t in enumerate(ls) if t["annotations"][0]["result"])
    ls.insert(0, ls.pop(boxed))
    files = {"label-studio": ls, "coco": coco_export(document, team)}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLEETLOOP_HOME", str(root / "home"))
        env.setenv("FLEETLOOP_STORE", "local")
        env.delenv("FLEETLOOP_REPOSITORY", raising=False)
        yield store, files


@pytest.fixture
def valid(world) -> dict[str, Any]:
    return copy.deepcopy(world[1])


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _ls_annotation(ls: list) -> dict:
    return ls[0]["annotations"][0]


def _ls_value(ls: list) -> dict:
    return _ls_annotation(ls)["result"][0]["value"]


# (format, how to break the valid file → text of the file, fragment of the one-line error)
HOSTILE: dict[str, tuple[str, Any, str]] = {
    "deeply nested (100,000)": ("label-studio", lambda f: _nested(100_000), "nested deeper"),
    "nested 40 deep": (
        "coco",
        lambda f: json.dumps({**f, "info": json.loads(_nested(40))}),
        "nested more than 32 deep",
    ),
    "integer of 5,000 digits": (
        "label-studio",
        lambda f: json.dumps(f).replace('"id": 1', '"id": 1' + "0" * 5000, 1),
        "Exceeds the limit (4300 digits)",
    ),
    "integer of 400 digits as a coordinate": (
        "label-studio",
        lambda f: _ls_value(f).update(x=10**400),
        "value.x must be a pixel or percent value",
    ),
    "integer of 400 digits as a COCO bbox": (
        "coco",
        lambda f: f["annotations"][0].update(bbox=[10**400, 0, 1, 1]),
        "bbox[0] must be a pixel or percent value",
    ),
    "list as image_id": (
        "coco",
        lambda f: f["annotations"][0].update(image_id=[1]),
        "image_id a list of 1 is not an image",
    ),
    "object as category_id": (
        "coco",
        lambda f: f["annotations"][0].update(category_id={"id": 1}),
        "category_id an object of 1 is not a category",
    ),
    "object as image id": ("coco", lambda f: f["images"][0].update(id={}), "needs an integer"),
    "list as task id, then a bad box": (
        "label-studio",
        lambda f: (f[0].update(id=[1, 2]), _ls_value(f).update(x="1")),
        "task a list of 2 (frame",
    ),
    "list as frame id": (
        "label-studio",
        lambda f: f[0]["data"].update(frame_id=["d0000-00000"], image=None),
        "names no frame",
    ),
    "date past year 9999 in UTC": (
        "label-studio",
        lambda f: _ls_annotation(f).update(updated_at="9999-12-31T23:59:59-01:00"),
        "out of the range of dates",
    ),
    "date before year 1 in UTC": (
        "label-studio",
        lambda f: _ls_annotation(f).update(created_at="0001-01-01T00:30:00+01:00"),
        "out of the range of dates",
    ),
    "labeled in 9999": (
        "label-studio",
        lambda f: _ls_annotation(f).update(updated_at="9999-01-01T00:00:00Z"),
        "in the future",
    ),
    "labeled two hours from now": (
        "label-studio",
        lambda f: _ls_annotation(f).update(updated_at=(NOW + timedelta(hours=2)).isoformat()),
        "fix the labeling tool's clock",
    ),
    "labeled in 1999": (
        "label-studio",
        lambda f: _ls_annotation(f).update(updated_at="1999-12-31T23:59:59Z"),
        "before 2000",
    ),
    "a string, not tasks": ("label-studio", lambda f: '"tasks"', "expected a list of tasks"),
    "null, not a COCO object": ("coco", lambda f: "null", "expected a COCO object"),
    "annotations a string": (
        "label-studio",
        lambda f: f[0].update(annotations="all of them"),
        "'annotations' is not a list",
    ),
    "result an object": (
        "label-studio",
        lambda f: _ls_annotation(f).update(result={"x": 1}),
        "'result' is not a list",
    ),
    "value a list": (
        "label-studio",
        lambda f: _ls_annotation(f)["result"][0].update(value=[1, 2]),
        "no 'value' object",
    ),
    "rectanglelabels an object": (
        "label-studio",
        lambda f: _ls_value(f).update(rectanglelabels={"a": 1}),
        "exactly one class, not an object of 1",
    ),
    "labeler a list": (
        "label-studio",
        lambda f: _ls_annotation(f).update(completed_by=[1, 2]),
        "completed_by must be a user id or email",
    ),
    "labeler with a lone surrogate": (
        "label-studio",
        lambda f: json.dumps(f).replace('"completed_by": 7', '"completed_by": "a\\ud800b"', 1),
        "is not a readable user name",
    ),
    "labeler of a megabyte": (
        "label-studio",
        lambda f: _ls_annotation(f).update(completed_by="x" * 1_000_000),
        "is not a readable user name",
    ),
    "category name with a newline": (
        "coco",
        lambda f: f["categories"][0].update(name="orange\ncone"),
        "is not a class name",
    ),
    "request id that is a path": (
        "label-studio",
        lambda f: f[0]["data"].update(request_id="../../../etc/passwd"),
        "is not a labeling request id",
    ),
    "request id with a trailing newline": (
        "label-studio",
        lambda f: f[0]["data"].update(request_id="req-0123456789ab\n"),
        "is not a labeling request id",
    ),
    "request id a number": (
        "label-studio",
        lambda f: f[0]["data"].update(request_id=7),
        "is not a labeling request id",
    ),
    "not UTF-8": ("coco", lambda f: b"\xff\xfe{}", "cannot be read as UTF-8 text"),
    "truncated": ("coco", lambda f: json.dumps(f)[:100], "not valid JSON"),
}


def hostile_file(tmp_path: Path, valid: dict, case: str) -> tuple[str, Path]:
    fmt, damage, _ = HOSTILE[case]
    document = valid[fmt]
    made = damage(document)
    file = tmp_path / f"{fmt}.json"
    if isinstance(made, bytes):
        file.write_bytes(made)
    elif isinstance(made, str):
        file.write_text(made, encoding="utf-8")
    else:
        write_json(file, document)
    return fmt, file


def one_line(message: str, file: Path) -> None:
    assert "\n" not in message.strip(), message[:300]
    assert str(file) in message, message[:300]
    assert len(message) < 2000, len(message)


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_file_is_one_error_naming_the_file(world, valid, tmp_path, case, bad_inputs):
    store = world[0]
    fmt, file = hostile_file(tmp_path, valid, case)
    with pytest.raises(MalformedFileError) as raised:
        import_labels(store, REPO, file, fmt, "lb-hostile", now=NOW)
    assert HOSTILE[case][2] in str(raised.value)
    one_line(str(raised.value), file)
    assert uploads(store) == []
    bad_inputs.count()


@pytest.mark.parametrize(
    "case",
    ["deeply nested (100,000)", "integer of 5,000 digits", "list as image_id", "labeled in 9999"],
)
def test_the_cli_says_it_in_one_line_with_the_fix(world, valid, tmp_path, case, bad_inputs):
    fmt, file = hostile_file(tmp_path, valid, case)
    result = CliRunner().invoke(
        main, ["labels", "import", str(file), "-f", fmt, "-b", "lb-hostile"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.output.strip()
    assert line.startswith(f"Error: {file}: ") and "\n" not in line, line[:300]
    assert "nothing imported: fix the file and import it again" in line
    assert uploads(world[0]) == []
    bad_inputs.count()


@pytest.mark.parametrize(
    "request_id", ["../../etc/passwd", "req-0123456789ab/../x", "REQ-0123456789AB", "", "req-1"]
)
def test_request_ids_are_checked_before_any_path_is_made(
    world, valid, tmp_path, request_id, bad_inputs
):
    store = world[0]
    file = write_json(tmp_path / "coco.json", valid["coco"])
    with pytest.raises(InvalidRequestIdError, match="is not a labeling request id"):
        import_labels(store, REPO, file, "coco", "lb-hostile", request_id=request_id)
    with pytest.raises(InvalidRequestIdError, match="is not a labeling request id"):
        export_request(store, REPO, request_id, tmp_path / "out")
    assert not (tmp_path / "out").exists() and uploads(store) == []
    result = CliRunner().invoke(main, ["labels", "export", request_id, "-f", "coco", "-o", "x"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    bad_inputs.count()


def test_a_file_over_the_size_cap_is_refused_unread(
    world, valid, tmp_path, monkeypatch, bad_inputs
):
    file = write_json(tmp_path / "coco.json", valid["coco"])
    monkeypatch.setattr(importing_module, "MAX_FILE_BYTES", file.stat().st_size - 1)
    with pytest.raises(MalformedFileError, match="export the tasks in parts") as raised:
        import_labels(world[0], REPO, file, "coco", "lb-hostile")
    one_line(str(raised.value), file)
    bad_inputs.count()


def test_label_times_inside_the_window_are_kept(world, valid, tmp_path):
    ls = valid["label-studio"]
    _ls_annotation(ls).update(updated_at=(NOW + CLOCK_SKEW / 2).isoformat())
    ls[1]["annotations"][0].update(updated_at=EARLIEST_LABEL.isoformat())
    sizes = {t["data"]["frame_id"]: (64, 64) for t in ls}
    parsed = read_label_file(write_json(tmp_path / "ls.json", ls), "label-studio", sizes, NOW)
    assert [f.labeled_at for f in parsed.frames[:2]] == [NOW + CLOCK_SKEW / 2, EARLIEST_LABEL]
