"""`fleetloop flag`, `flags` and `review` through click's CliRunner, on the review test store
(`$FLEETLOOP_HOME`) and a fresh catalog (`$FLEETLOOP_CATALOG_URL`)."""

from __future__ import annotations

import pytest
import uvicorn
from click.testing import CliRunner
from starlette.testclient import TestClient

from entrypoints.cli import main
from tests.review.conftest import VERSION, frame_ids_on


@pytest.fixture
def run(home, catalog_url, monkeypatch):
    monkeypatch.setenv("FLEETLOOP_HOME", str(home))
    monkeypatch.setenv("FLEETLOOP_STORE", "local")
    monkeypatch.delenv("FLEETLOOP_REPOSITORY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output)
        return result

    return invoke


def failed(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line, line
    for fragment in fragments:
        assert fragment in line, line


def test_flag_records_who_why_and_the_production_model(run, catalog, frames):
    frame_id = frames["frame_id"][3]
    result = run("flag", frame_id, "--reason", "box on a tree", "--by", "bo")
    assert result.output == f"flag 1: {frame_id} by bo (cone_detector {VERSION}): box on a tree\n"
    [flag] = catalog.flags()
    assert (flag.frame_id, flag.reason, flag.flagged_by, flag.model_version) == (
        frame_id,
        "box on a tree",
        "bo",
        VERSION,
    )


def test_flag_refuses_unknown_frames_and_empty_reasons(run, catalog):
    failed(
        run("flag", "d9999-00001", "--reason", "ghost", ok=False),
        "frame 'd9999-00001' is not among the frames on 'main'",
    )
    failed(run("flag", "d0000-00001", "--reason", " ", ok=False), "reason is empty")
    failed(
        run("flag", "d0000-00001", "--reason", "x", "--repo", "elsewhere", ok=False),
        "elsewhere",
    )
    assert catalog.flags() == []


def test_flags_lists_open_then_all(run, catalog, frames):
    assert run("flags").output == "no open review flags\n"
    run("flag", frames["frame_id"][0], "--reason", "missed green cone", "--by", "ana")
    run("flag", frames["frame_id"][1], "--reason", "[wrong] colour", "--by", "bo")
    catalog.resolve_flag(1, "relabeled")
    listed = run("flags").output
    assert "REASON" in listed and "[wrong] colour" in listed and "missed green cone" not in listed
    every = run("flags", "--all").output
    assert "missed green cone" in every and "relabeled" in every and "RESOLUTION" in every


def test_review_serves_the_slice_on_localhost(run, monkeypatch):
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = run("review", "--slice", "hard", "--by", "ana")
    assert "Review page on http://127.0.0.1:8765/slices/hard as ana" in result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8765)
    with TestClient(served["app"], base_url="http://127.0.0.1") as client:
        page = client.get("/slices/hard")
    assert page.status_code == 200 and len(frame_ids_on(page.text)) == 8


def test_review_refuses_an_unknown_slice_before_serving(run, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("served"))
    failed(run("review", "--slice", "nope", ok=False), "no slice 'nope'", "slices: hard")
    failed(run("review", "--slice", "../x", ok=False), "is not a slice name")


def test_review_warns_when_bound_beyond_localhost(run, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    result = run("review", "--host", "0.0.0.0")
    assert "warning: serving on 0.0.0.0" in result.stderr
