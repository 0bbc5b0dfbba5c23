"""`fleetloop ui` starts the store view beside the Dagster webserver and stops both together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except OSError:
        return False
    return True


def test_ui_starts_and_stops_the_store_view_and_the_webserver(tmp_path):
    ui_port, view_port = _free_port(), _free_port()
    env = {**os.environ, "FLEETLOOP_HOME": str(tmp_path), "FLEETLOOP_STORE": "local"}
    env.pop("FLEETLOOP_STORE_VIEW_URL", None)
    command = [
        str(Path(sys.executable).with_name("fleetloop")),
        *("ui", "--port", str(ui_port), "--store-port", str(view_port)),
    ]
    ui = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    view, dagster = f"http://127.0.0.1:{view_port}/", f"http://127.0.0.1:{ui_port}/server_info"
    try:
        deadline = time.monotonic() + 120
        while not (_answers(view) and _answers(dagster)):
            assert ui.poll() is None, "fleetloop ui exited"
            assert time.monotonic() < deadline, "the store view or the webserver did not start"
            time.sleep(0.5)
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=30) == 130
        assert not _answers(view) and not _answers(dagster)
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
