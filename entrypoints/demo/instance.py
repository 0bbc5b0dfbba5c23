"""The demo's persistent Dagster instance (`$FLEETLOOP_HOME/dagster`) and its daemon.

The instance is a plain directory with a `dagster.yaml`; `make ui` points the webserver at the
same directory, so the demo's runs, checks and lineage stay browsable after it ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

POSTGRES_ENV = "FLEETLOOP_DAGSTER_POSTGRES_URL"  # set: the instance's storage is PostgreSQL
MAX_CONCURRENT_RUNS = 2
MAX_RUN_RETRIES = 2


def dagster_yaml(postgres_url: str | None = None) -> str:
    """The instance's configuration: SQLite files in the instance directory, or PostgreSQL
    (runs, event log, schedules); either way runs wait in the queued run coordinator's queue,
    and a run whose worker crashed is retried."""
    storage = f'storage:\n  postgres:\n    postgres_url: "{postgres_url}"\n' if postgres_url else ""
    return f"""\
# Written by `fleetloop demo`: the instance `make demo` runs on and `make ui` browses.
telemetry:
  enabled: false
{storage}run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {MAX_CONCURRENT_RUNS}
    dequeue_interval_seconds: 1
# A run whose process died (killed, out of memory) is run again, at most twice; a run that
# failed in an asset or a check is not: the same input fails the same way.
run_retries:
  enabled: true
  max_retries: {MAX_RUN_RETRIES}
  retry_on_asset_or_op_failure: false
# A run that never started (its worker did not come up) is failed, and so retried.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 10
"""


def repo_root() -> Path:
    """The checkout holding workspace.yaml (the code location the daemon loads)."""
    return Path(__file__).resolve().parents[2]


def prepare_instance(home: Path, postgres_url: str | None = None) -> Path:
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(dagster_yaml(postgres_url))
    # Create the instance's databases here, once: the daemon and the demo process opening a
    # new instance together race on its schema ("table alembic_version already exists").
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("drives")
        instance.all_instigator_state()
    return dagster_home


def demo_environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every demo process shares: one home, one instance, one code location."""
    env = dict(os.environ)
    env.update(
        {
            "FLEETLOOP_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(repo_root()), env.get("PYTHONPATH", "")) if p
            ),
            "PYTHONWARNINGS": "ignore",
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "FLEETLOOP_LABELING": "simulated",  # the demo's labelers are the simulated ones
        }
    )
    env.update(extra or {})
    return env


def _bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


@contextlib.contextmanager
def running_daemon(
    home: Path, env: dict[str, str], *, workspace: Path | None = None
) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run` on the demo instance for the duration of the block (the checkout's
    workspace.yaml unless another is given)."""
    log = (home / "daemon.log").open("ab")
    workspace = workspace or repo_root() / "workspace.yaml"
    process = subprocess.Popen(
        [_bin("dagster-daemon"), "run", "-w", str(workspace)],
        cwd=repo_root(),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen, grace_s: float = 20.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
