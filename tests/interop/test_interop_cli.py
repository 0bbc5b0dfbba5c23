"""`fleetloop labels export` and `fleetloop labels import` through click, on the embedded store
of a temporary `FLEETLOOP_HOME`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from tests.interop.conftest import landed, uploads
from tests.interop.labeling_team import coco_export, label_studio_export, write_json


@pytest.fixture
def run(store):
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, ["labels", *map(str, args)])
        if ok:
            assert result.exit_code == 0, (args, result.output)
        return result

    return invoke


def test_help_lists_the_verbs(run):
    output = run("--help").output
    assert "export" in output and "import" in output


def test_export_then_import_label_studio(run, store, request_id, request_rows, labelers, tmp_path):
    out = tmp_path / "for-the-team"
    exported = run("export", request_id, "--format", "label-studio", "--out", out).output
    assert f"request {request_id}: {request_rows.height} frames" in exported
    assert sorted(p.name for p in out.iterdir()) == [
        "images",
        "label_config.xml",
        "request.json",
        "tasks.json",
    ]

    tasks = json.loads((out / "tasks.json").read_text())
    team = labelers.label(request_rows["frame_id"].to_list(), "team")
    file = write_json(tmp_path / "project-3.json", label_studio_export(tasks, team, 64))
    imported = run(
        "import", file, "--format", "label-studio", "--batch-id", "lb-cli", "--labeler", "acme"
    ).output

    assert f"batch lb-cli answering {request_id}: {request_rows.height} frames" in imported
    assert "label sensor validates and publishes it" in imported
    frames, boxes, info = landed(store, "lb-cli")
    assert boxes.height == team.boxes.height
    assert info["labeler"] == "acme" and info["source"] == "label-studio"


def test_export_then_import_coco(run, store, request_id, request_rows, labelers, tmp_path):
    out = tmp_path / "coco"
    run("export", request_id, "-f", "coco", "-o", out, "--predictions")
    coco = json.loads((out / "coco.json").read_text())
    assert coco["annotations"], "--predictions pre-annotates COCO too"
    coco["annotations"] = []
    team = labelers.label(request_rows["frame_id"].to_list(), "team")
    file = write_json(tmp_path / "instances.json", coco_export(coco, team))
    run("import", file, "-f", "coco", "-b", "lb-coco", "--request-id", request_id)
    _, boxes, info = landed(store, "lb-coco")
    assert boxes.height == team.boxes.height and info["request_id"] == request_id


def test_a_bad_file_lists_its_problems_and_lands_nothing(run, store, request_id, tmp_path):
    run("export", request_id, "-f", "label-studio", "-o", tmp_path / "out")
    tasks = json.loads((tmp_path / "out" / "tasks.json").read_text())
    for task in tasks[:2]:
        task["annotations"] = [{"id": 5, "result": [{"type": "rectanglelabels", "value": {}}]}]
    file = write_json(tmp_path / "export.json", tasks)

    result = run("import", file, "-f", "label-studio", "-b", "lb-bad", ok=False)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"Error: {file}: 2 problem(s), nothing imported:"
    assert lines[1].startswith("  task #0 (frame ") and "value.rectanglelabels" in lines[1]
    assert "Traceback" not in result.output
    assert uploads(store) == []


def test_an_unknown_request_is_one_line(run, tmp_path):
    result = run("export", "req-00000000dead", "-f", "coco", "-o", tmp_path / "x", ok=False)
    assert result.exit_code == 1
    assert result.output.startswith("Error: no labeling request 'req-00000000dead'")
    assert len(result.output.strip().splitlines()) == 1
