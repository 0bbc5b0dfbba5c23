"""Server processes for the link tests: `fleetloop store-view` (or any command) started in its
own session, waited for until it answers, and ended with its children afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from entrypoints.demo.instance import repo_root, stop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(
    command: list[str],
    env: Mapping[str, str],
    log_path: Path,
    ready: str | None = None,
    timeout_s: float = 30.0,
) -> Iterator[subprocess.Popen]:
    """`command` running, its output in `log_path`; first answering at `ready` when given."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=repo_root(),
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # `stop` ends the whole group, children included
        )
    try:
        deadline = time.monotonic() + timeout_s
        while ready:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited:\n{log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(ready, timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"nothing answered at {ready}:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.2)
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def store_view(
    env: Mapping[str, str], log_path: Path, port: int | None = None, backend: str = "local"
) -> Iterator[str]:
    """`fleetloop store-view --backend <backend>` with `env` on `port`; its base URL."""
    port = port or free_port()
    command = [
        str(Path(sys.executable).with_name("fleetloop")),
        *("store-view", "--port", str(port), "--backend", backend),
    ]
    base = f"http://127.0.0.1:{port}"
    with served(command, env, log_path, ready=f"{base}/"):
        yield base
