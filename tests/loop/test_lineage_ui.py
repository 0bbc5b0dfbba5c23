"""The graph's edges where the user looks: a real `dagster-webserver` on a real instance.

A tiny fleet uploads through `LoopHarness` onto a persistent instance directory (a
`dagster.yaml`, as `make demo` writes it); the webserver is then started on that same
directory (`DAGSTER_HOME`) with the workspace `make ui` loads. Its GraphQL API must report
the lineage the definitions declare (every slice, the frames and the drive logs upstream of
the gate; the training set, candidate, report and gate downstream of a slice), and the
production model's upstream lineage page, rendered by headless Chromium, must show the
slice nodes. The webserver and the browser are started and stopped by the fixtures.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import pytest

from assets.slices.declarations import declared_slices
from entrypoints.demo.instance import demo_environment, prepare_instance, repo_root, stop
from resources.simulation import Fleet, FleetConfig
from tests.browser import chromium
from tests.loop.harness import LoopHarness

STARTUP_S = 60.0  # the webserver and its code server import torch, GX and the definitions
SLICE_ASSETS = sorted(f"{spec.name}_slice" for spec in declared_slices())

ASSET_NODES = """
query AssetGraph {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    dependedByKeys { path }
  }
}
"""
MATERIALIZATIONS = """
query Materializations($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    __typename
    ... on Asset { assetMaterializations(limit: 50) { runId partition } }
  }
}
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A fleetloop home whose instance holds one fleet upload run (logs and frames)."""
    home = tmp_path_factory.mktemp("lineage_ui")
    dagster_home = prepare_instance(home)
    fleet = Fleet(FleetConfig(seed=5, drives=2, frames_per_drive=6))
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        harness = LoopHarness(home, instance)
        harness.upload(fleet)
        runs = harness.sensor("fleet_upload_sensor")
        assert [r.success for r in runs] == [True]
    return home


@pytest.fixture(scope="module")
def webserver(home, tmp_path_factory) -> Iterable[str]:
    """`dagster-webserver -w workspace.yaml` on the home's instance; yields its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("webserver") / "webserver.log"
    command = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        "-w",
        str(repo_root() / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=repo_root(),
            env=demo_environment(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # `stop` ends the code server it spawns with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_definitions(url, process, log_path)
        yield url
    finally:
        stop(process)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def wait_for_definitions(url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Until `/server_info` answers and the code location's asset graph is loaded."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                pass
            if any(
                n["assetKey"]["path"] == ["production_model"]
                for n in graphql(url, ASSET_NODES)["assetNodes"]
            ):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(
        f"the webserver did not serve the definitions in {STARTUP_S:.0f} s:\n"
        f"{log_path.read_text()[-4000:]}"
    )


def closure(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every node reachable from `start` along `edges` (start excluded)."""
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.fixture(scope="module")
def asset_graph(webserver) -> dict[str, dict[str, set[str]]]:
    """The graph as the webserver serves it: asset → its upstream / downstream keys."""
    up, down = {}, {}
    for node in graph_nodes(webserver):
        key = "/".join(node["assetKey"]["path"])
        up[key] = {"/".join(k["path"]) for k in node["dependencyKeys"]}
        down[key] = {"/".join(k["path"]) for k in node["dependedByKeys"]}
    return {"upstream": up, "downstream": down}


def graph_nodes(url: str) -> list[dict]:
    return graphql(url, ASSET_NODES)["assetNodes"]


def test_graphql_upstream_of_the_gate_reaches_every_slice_and_the_drive_logs(asset_graph):
    upstream = closure(asset_graph["upstream"], "production_model")
    expected = {*SLICE_ASSETS, "frames", "fleet_logs", "training_set", "label_sets"}
    assert expected <= upstream, f"missing upstream: {sorted(expected - upstream)}"
    # the feedback edge is the observable source, never an edge out of the gate
    assert "production_model" not in closure(asset_graph["upstream"], "deployed_model")


def test_graphql_downstream_of_rain_reaches_the_gate(asset_graph):
    downstream = closure(asset_graph["downstream"], "rain_slice")
    expected = {"training_set", "candidate_model", "evaluation_report", "production_model"}
    assert expected <= downstream, f"missing downstream: {sorted(expected - downstream)}"
    assert asset_graph["downstream"]["production_model"] == set()


def test_the_webserver_reads_the_instance_the_upload_ran_on(webserver):
    """The same instance: the upload's frames materialization, one per drive partition."""
    for asset in ("fleet_logs", "frames"):
        found = graphql(webserver, MATERIALIZATIONS, {"path": [asset]})["assetOrError"]
        assert found["__typename"] == "Asset", found
        assert sorted(m["partition"] for m in found["assetMaterializations"]) == ["d0000", "d0001"]


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium", window="1600,1400", page_load_s=30) as driver:
        yield driver


def test_the_gate_upstream_lineage_page_shows_the_slices(webserver, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(
        f"{webserver}/assets/production_model?view=lineage&lineageScope=upstream&lineageDepth=20"
    )
    wanted = [*SLICE_ASSETS, "training_set", "frames", "fleet_logs"]

    def labels_on_graph(driver) -> set[str]:
        texts = driver.execute_script(
            "return Array.from(document.querySelectorAll('svg foreignObject, svg text'))"
            ".map(e => e.textContent)"
        )
        return {name for name in wanted if any(name in text for text in texts)}

    try:
        WebDriverWait(browser, 30, poll_frequency=0.5).until(
            lambda d: labels_on_graph(d) == set(wanted)
        )
        dismiss_welcome_dialog(browser)
    finally:
        screenshot = tmp_path / "production_model_upstream_lineage.png"
        browser.save_screenshot(str(screenshot))
        print(f"screenshot: {screenshot}")
    assert "Upstream" in browser.find_element(By.TAG_NAME, "body").text


def dismiss_welcome_dialog(browser) -> None:
    """A fresh browser profile gets Dagster's "Join the community" dialog over the graph;
    skip it so the screenshot shows the lineage (its absence is fine)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    skip = (By.XPATH, "//div[@role='dialog']//button[normalize-space()='Skip']")
    try:
        WebDriverWait(browser, 3).until(seen.element_to_be_clickable(skip)).click()
        WebDriverWait(browser, 5).until(seen.invisibility_of_element_located(skip))
    except TimeoutException:
        pass
