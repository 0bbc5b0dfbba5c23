"""Run a lakeFS server for fleetloop: `python -m deploy.lakefs.server build|start|stop|env`.

A server keeps everything under one home directory (`$FLEETLOOP_HOME/lakefs/` for `make lakefs`,
a temporary one in the tests): its config, local KV, local blockstore, log, and `lakectl.yaml`
with the endpoint and the admin's credentials, which `LakeFSStore` reads through
`LAKECTL_CONFIG_FILE` or the `LAKECTL_*` variables that `Server.environment()` gives. The
binaries come from `deploy/lakefs/build.py`. Standard library only, so the Makefile can run it
before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from deploy.lakefs.build import BUILD_DIR, COMMANDS, LakeFSUnavailable, binary, build

__all__ = ["COMMANDS", "LakeFSUnavailable", "Server", "binary", "build", "serving", "start", "stop"]

ADMIN = "admin"


# -- run ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Server:
    home: Path
    endpoint: str  # http://127.0.0.1:<port>, without /api/v1
    access_key_id: str
    secret_access_key: str
    pid: int

    @property
    def lakectl_config(self) -> Path:
        return self.home / "lakectl.yaml"

    def environment(self) -> dict[str, str]:
        """The variables lakectl and the `lakefs` SDK read."""
        return {
            "LAKECTL_SERVER_ENDPOINT_URL": self.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _yaml(value: object, indent: int = 0) -> str:
    """The few shapes a lakeFS config needs (nested mappings of scalars), as YAML."""
    lines = []
    for key, item in value.items():  # type: ignore[attr-defined]
        if isinstance(item, Mapping):
            lines.append(f"{' ' * indent}{key}:")
            lines.append(_yaml(item, indent + 2))
        else:
            lines.append(f"{' ' * indent}{key}: {json.dumps(item)}")
    return "\n".join(lines)


def local_config(home: Path, secret: str) -> dict:
    """lakeFS on one machine: local KV (pebble) and local blockstore, both under `home`
    (`start` adds the listen address)."""
    return {
        "logging": {"level": "WARN", "output": str(home / "lakefs.log")},
        "database": {"type": "local", "local": {"path": str(home / "metadata")}},
        "blockstore": {
            "type": "local",
            "default_namespace_prefix": "local://",
            "local": {"path": str(home / "data")},
        },
        "committed": {"local_cache": {"dir": str(home / "cache")}},
        "auth": {"encrypt": {"secret_key": secret}},
        "stats": {"enabled": False},
        "usage_report": {"enabled": False},
        "email_subscription": {"enabled": False},
        "security": {"check_latest_version": False, "audit_check_interval": "0s"},
        "gateways": {"s3": {"domain_name": "s3.local.lakefs.io"}},
    }


def _request(url: str, body: dict | None = None, auth: tuple[str, str] | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else {}


def _wait_healthy(endpoint: str, process: subprocess.Popen | None, log: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise LakeFSUnavailable(f"lakeFS exited with {process.returncode} at start:\n{tail}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            _request(f"{endpoint}/api/v1/healthcheck")
            return
        time.sleep(0.1)
    raise LakeFSUnavailable(f"lakeFS did not answer {endpoint} within {timeout:.0f} s (see {log})")


def _lakectl_yaml(endpoint: str, key_id: str, secret: str) -> str:
    return (
        _yaml(
            {
                "credentials": {"access_key_id": key_id, "secret_access_key": secret},
                "server": {"endpoint_url": endpoint},
            }
        )
        + "\n"
    )


def _read_lakectl(path: Path) -> tuple[str, str, str]:
    values = dict(re.findall(r"^\s+(\w+): \"(.*)\"$", path.read_text(), re.MULTILINE))
    return values["endpoint_url"], values["access_key_id"], values["secret_access_key"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(home: Path) -> Server | None:
    """The server recorded under `home`, if its process is alive and answers."""
    pid_file, config = home / "lakefs.pid", home / "lakectl.yaml"
    if not pid_file.exists() or not config.exists():
        return None
    pid = int(pid_file.read_text())
    if not _alive(pid):
        return None
    endpoint, key_id, secret = _read_lakectl(config)
    try:
        _request(f"{endpoint}/api/v1/healthcheck")
    except (OSError, urllib.error.URLError):
        return None
    return Server(home, endpoint, key_id, secret, pid)


def start(
    home: Path,
    *,
    build_dir: Path = BUILD_DIR,
    config: Callable[[Path, str], dict] = local_config,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> Server:
    """Start lakeFS under `home` (or return the one already running there), set up its admin
    once, and write `home/lakectl.yaml`. The process outlives the caller; `stop(home)` ends it.
    `config(home, auth_secret)` makes lakeFS's configuration (default: `local_config`)."""
    home = home.resolve()
    if (found := running(home)) is not None:
        return found
    lakefs = binary("lakefs", build_dir)
    if not lakefs.exists():
        raise LakeFSUnavailable(f"{lakefs} is not built: run `make lakefs-build`")
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home / "encrypt.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
        secret_file.chmod(0o600)
    port = _free_port()
    settings = {**config(home, secret_file.read_text()), "listen_address": f"127.0.0.1:{port}"}
    (home / "config.yaml").write_text(_yaml(settings) + "\n")
    log = home / "lakefs.out"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(lakefs), "run", "--config", str(home / "config.yaml")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # `make lakefs` returns; the server stays
            env={**os.environ, **(env or {})},
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(endpoint, process, log, timeout)
        key_id, secret = _set_up_admin(home, endpoint)
    except BaseException:
        _terminate(process.pid)
        raise
    (home / "lakefs.pid").write_text(str(process.pid))
    lakectl = home / "lakectl.yaml"
    lakectl.write_text(_lakectl_yaml(endpoint, key_id, secret))
    lakectl.chmod(0o600)
    return Server(home, endpoint, key_id, secret, process.pid)


def _set_up_admin(home: Path, endpoint: str) -> tuple[str, str]:
    """The admin's keys: made by /setup_lakefs on a new installation, else the recorded ones."""
    keys = home / "admin.keys"
    state = _request(f"{endpoint}/api/v1/setup_lakefs")
    if state.get("state") == "initialized":
        if not keys.exists():
            raise LakeFSUnavailable(f"lakeFS under {home} is set up but its admin keys are lost")
        key_id, secret = keys.read_text().split()
        return key_id, secret
    key_id = "AKIAJ" + secrets.token_hex(8).upper()[:15]
    secret = secrets.token_urlsafe(30)
    created = _request(
        f"{endpoint}/api/v1/setup_lakefs",
        {"username": ADMIN, "key": {"access_key_id": key_id, "secret_access_key": secret}},
    )
    key_id, secret = created["access_key_id"], created["secret_access_key"]
    keys.write_text(f"{key_id}\n{secret}\n")
    keys.chmod(0o600)
    return key_id, secret


def _terminate(pid: int, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll until it is gone
            done = pid if not _alive(pid) else 0
        if done:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop(home: Path) -> bool:
    """Stop the server recorded under `home`; False when none was running."""
    pid_file = home.resolve() / "lakefs.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    alive = _alive(pid)
    if alive:
        _terminate(pid)
    pid_file.unlink()
    return alive


@contextlib.contextmanager
def serving(home: Path, **kwargs) -> Iterator[Server]:
    """A server for the duration of a `with` block (the tests' way)."""
    server = start(home, **kwargs)
    try:
        yield server
    finally:
        stop(home)


def default_home() -> Path:
    return Path(os.environ.get("FLEETLOOP_HOME", ".fleetloop")) / "lakefs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.lakefs.server", description=__doc__)
    parser.add_argument("action", choices=["build", "start", "stop", "env"])
    parser.add_argument("--home", type=Path, default=None, help="default $FLEETLOOP_HOME/lakefs")
    parser.add_argument("--no-ui", action="store_true", help="build without the web UI")
    args = parser.parse_args(argv)
    home = args.home or default_home()
    try:
        if args.action == "build":
            for name, path in build(ui=not args.no_ui).items():
                sys.stdout.write(f"{name}: {path}\n")
        elif args.action == "start":
            server = start(home)
            sys.stdout.write(
                f"lakeFS at {server.endpoint} (UI: {server.endpoint}/), pid {server.pid}\n"
                f"credentials in {server.lakectl_config}; "
                f"export LAKECTL_CONFIG_FILE={server.lakectl_config}\n"
            )
        elif args.action == "stop":
            sys.stdout.write("stopped\n" if stop(home) else "no lakeFS running there\n")
        else:
            server = running(home)
            if server is None:
                sys.stderr.write(f"no lakeFS running under {home}: run `make lakefs`\n")
                return 1
            for name, value in server.environment().items():
                sys.stdout.write(f"export {name}={value}\n")
    except LakeFSUnavailable as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
