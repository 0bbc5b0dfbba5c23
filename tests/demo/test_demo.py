"""`fleetloop demo` for real at a small scale: the Dagster daemon runs the sensors and the
automation, the driver only plays the outside world; then the Dagster webserver is started on
the demo's instance and its GraphQL API must show the lineage and the materializations."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from entrypoints.demo.instance import demo_environment, repo_root
from entrypoints.demo.runner import DemoConfig, run_demo

LINEAGE = {
    "frames": {"fleet_logs"},
    "labeling_queue": {"baseline_slice", "holdout_slice", "rain_slice", "green_cones_slice"},
    "label_sets": {"labeling_queue"},
    # the slices define the training set: the lineage runs from the slices to the gate
    "training_set": {"label_sets", "baseline_slice", "holdout_slice", "rain_slice"},
    "candidate_model": {"training_set"},
    "evaluation_report": {"candidate_model"},
    "production_model": {"evaluation_report"},
    "fleet_predictions": {"deployed_model", "frames"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("demo-home")
    config = DemoConfig(
        seed=1, drives=40, frames_per_drive=24, epochs=10, slice_scale=0.15, timeout_s=900
    )
    lines: list[str] = []
    summary = run_demo(config, home, say=lines.append)
    return home, summary


def test_the_daemon_carries_the_story_with_no_human_action(demo):
    home, summary = demo
    written = json.loads((home / "demo.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert {"slices", "promoted", "stage_seconds", "total_seconds", "human_actions"} <= set(written)
    assert written["human_actions"] == 0 and written["manual_runs"] == []
    assert len(written["decisions"]) >= 2 and written["decisions"][0]["approved"]
    assert isinstance(written["promoted"], bool)
    for name in ("all", "rain", "green_cones"):
        pair = written["slices"][name]
        assert set(pair) == {"baseline", "promoted"}
        assert 0.0 <= pair["promoted"]["ap"] <= 1.0
    assert {"ingest", "training", "evaluation", "promotion", "orchestration"} <= set(
        written["stage_seconds"]
    )


def test_signals_feed_the_cycles_after_the_baseline(demo):
    _, summary = demo
    cycles = summary["cycles"]
    assert 2 <= len(cycles) <= 3, cycles
    first, curated = cycles[:2]
    assert set(first["sources"].values()) == {"random"}
    assert {"metadata:weather", "curated:green_cone_score"} <= set(curated["sources"].values())
    assert curated["signals"], curated  # the baseline's signals ask alongside the curated slices
    # the operator flagged the baseline's wrong predictions, and the flags became requests:
    # in the cycle cut right after the review, or (a review that lost the race with the
    # slices, which come ~2 s after it at this fleet size) in the one after
    asked = [c["requested_per_slice"].get("flagged", 0) for c in cycles[1:]]
    assert asked[0] > 0 or (len(asked) > 1 and asked[1] > 0), cycles
    if curated["approved"]:  # a new production model: its signals alone drive the next cycle
        signals = cycles[2]
        assert all(s.startswith("signal:") for s in signals["sources"].values()), signals
    else:  # a refusal leaves the production model, and what its signals asked, unchanged
        assert len(cycles) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_webserver_shows_the_demos_lineage_and_materializations(demo):
    home, _ = demo
    port = _free_port()
    webserver = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen(
        [
            str(webserver),
            "-w",
            str(repo_root() / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=repo_root(),
        env=demo_environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "the webserver exited"
            assert time.monotonic() < deadline, "the webserver did not come up in 2 minutes"
            time.sleep(1)
        nodes = _query(
            url, "{ assetNodes { assetKey { path } dependencyKeys { path } groupName } }"
        )["assetNodes"]
        parents = {
            n["assetKey"]["path"][-1]: {d["path"][-1] for d in n["dependencyKeys"]} for n in nodes
        }
        for child, expected in LINEAGE.items():
            assert expected <= parents[child], child
        query = (
            "query ($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset { "
            "assetMaterializations(limit: 10) { runId metadataEntries { label } } } } }"
        )
        for asset in ("frames", "training_set", "production_model"):
            data = _query(url, query, {"path": [asset]})
            materializations = data["assetOrError"]["assetMaterializations"]
            assert materializations, asset
            labels = {e["label"] for e in materializations[0]["metadataEntries"]}
            assert {"store_commit", "lakefs_uri"} <= labels
    finally:
        process.terminate()
        process.wait(timeout=30)


def _query(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body.get("errors")
    return body["data"]
