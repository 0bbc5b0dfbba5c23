"""A home in use is never reset, and never gets a second daemon: `fleetloop demo` against a
live `fleetloop store-view`, against another holder of the daemon slot, and after a holder was
killed (the kernel drops its lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.homelock import HomeBusy, daemon_slot, resetting, using

HOLD = """
import sys, time
from pathlib import Path
from entrypoints.homelock import {kind}
with {kind}(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(home: Path, kind: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(kind=kind), str(home)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def _fleetloop(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLEETLOOP_HOME": str(home)}
    binary = Path(sys.executable).with_name("fleetloop")
    return subprocess.run(
        [str(binary), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    (home / "store").mkdir(parents=True)
    (home / "catalog.db").write_text("the previous demo's catalog")
    return home


def test_a_fresh_demo_refuses_to_reset_a_home_being_served(home):
    viewer = _holder(home, "using")  # what `fleetloop ui`, `review` and `store-view` hold
    try:
        done = _fleetloop(home, "demo", "--drives", "2")
    finally:
        viewer.kill()
        viewer.wait()
    assert done.returncode != 0
    assert "is in use" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert (home / "catalog.db").read_text() == "the previous demo's catalog"
    assert (home / "store").is_dir()


def test_a_second_daemon_on_a_home_is_refused(home):
    daemon = _holder(home, "daemon_slot")
    try:
        done = _fleetloop(home, "demo", "--keep", "--drives", "2")
    finally:
        daemon.kill()
        daemon.wait()
    assert done.returncode != 0
    assert f"already has a running Dagster daemon (pid {daemon.pid})" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert (home / "catalog.db").exists()


def test_a_killed_holder_leaves_the_home_free(home):
    for kind in ("using", "daemon_slot"):
        holder = _holder(home, kind)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with daemon_slot(home), resetting(home):
        pass


def test_readers_share_a_home_and_block_its_reset(home):
    with using(home), using(home):
        with pytest.raises(HomeBusy, match="is in use"):
            with resetting(home):
                pass
    with resetting(home), pytest.raises(HomeBusy, match="being reset"):
        with using(home):
            pass
