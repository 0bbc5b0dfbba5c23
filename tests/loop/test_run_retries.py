"""A promotion run killed mid-way is retried by Dagster itself: a real `dagster-daemon` on the
loop's instance (run retries on, as `fleetloop demo` writes them) launches the run, its worker
dies right after merging the candidate into main, and the daemon's run retries start it again,
which finishes the promotion. Nothing is re-executed by hand; afterwards the store passes
fsck, every committed byte reads back, the batch is published once and the production alias
and main agree (bench/faults_loop.check_world)."""

from __future__ import annotations

import shutil
import time

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import WILL_RETRY_TAG

from bench import faults_loop
from entrypoints.demo.instance import dagster_yaml, demo_environment, repo_root, running_daemon
from resources.faults import EXIT_STATUS

pytestmark = pytest.mark.slow
WAIT_S = 420


def runs_of(root) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(root / "dagster"))) as instance:
        return sorted(
            instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": "promote_once"})),
            key=lambda r: int(r.tags.get("dagster/retry_number", "0")),
        )


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    return faults_loop.build_worlds(tmp_path_factory.mktemp("retry-worlds"))


def test_a_killed_promotion_is_retried_by_the_daemon_and_completes(worlds, tmp_path):
    root = tmp_path / "world"
    shutil.copytree(worlds["trained"], root)
    (root / "dagster" / "dagster.yaml").write_text(dagster_yaml())
    workspace = tmp_path / "workspace.yaml"
    location = repo_root() / "tests" / "loop" / "retry_location.py"
    workspace.write_text(f"load_from:\n  - python_file: {location}\n")
    fired = tmp_path / "fault-fired"
    env = demo_environment(
        root,
        {"FLEETLOOP_FAULT_POINT": "promotion:merged", "FLEETLOOP_FAULT_ONCE": str(fired)},
    )
    with running_daemon(root, env, workspace=workspace) as daemon:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and daemon.poll() is None:
            runs = runs_of(root)
            if runs and runs[-1].status == dg.DagsterRunStatus.SUCCESS:
                break
            time.sleep(2)
    log = (root / "daemon.log").read_text(errors="replace")
    runs = runs_of(root)
    assert fired.exists(), f"the fault never fired; daemon log:\n{log[-3000:]}"
    assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
    killed, retry = runs
    assert retry.parent_run_id == killed.run_id and retry.tags["dagster/retry_number"] == "1"
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(root / "dagster"))) as instance:
        crash = [e.message for e in instance.all_logs(killed.run_id) if e.message]
    assert any(f"exited with code {EXIT_STATUS}" in m for m in crash), crash
    figures = faults_loop.check_world(root)
    assert figures["promotions"] == 1 and figures["label_batches"] == 1


def test_the_label_sensor_leaves_a_run_the_daemon_will_retry_to_the_daemon(worlds, tmp_path):
    """A label_sets run killed after its merge: with run retries on, the failed run is tagged
    to be retried and the sensor asks for no second run of its own; without, it does."""
    root = tmp_path / "world"
    shutil.copytree(worlds["answered"], root)
    faults_loop.kill_at(root, "label_sets:published", "label_tick")
    world = faults_loop.World(root)
    try:
        assert world.mark_dead_runs_failed() == 1
        (killed,) = world.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        cursor = world._cursors().get("label_batch_sensor")

        def requested() -> list[str]:  # what the daemon would launch
            result = world.evaluate("label_batch_sensor", cursor)
            return [r.run_key for r in world.unspent("label_batch_sensor", result)]

        world.instance.add_run_tags(killed.run_id, {WILL_RETRY_TAG: "true"})
        assert requested() == []
        world.instance.add_run_tags(killed.run_id, {WILL_RETRY_TAG: "false"})
        (retry,) = requested()
        assert retry.endswith("-retry1")
    finally:
        world.close()
