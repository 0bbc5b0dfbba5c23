"""lakeFS in its production shape on one machine: metadata in PostgreSQL, objects on S3.

PostgreSQL is Debian's (a throwaway cluster: initdb in a directory, pg_ctl on a free port, trust
auth on 127.0.0.1 only, run as the `postgres` user when we are root); S3 is `moto.server` from
PyPI (MinIO is AGPL). lakeFS hands out pre-signed URLs to moto, so object bytes go from the
client to S3 and back without passing through lakeFS. Each piece is a context manager that
starts its process and stops it; `production_config` is the lakeFS config that joins them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from deploy.lakefs.server import LakeFSUnavailable, _free_port, local_config

PG_USER = "postgres"
S3_KEY = ("fleetloop-key", "fleetloop-secret")  # moto accepts any; lakeFS needs some
BUCKET = "fleetloop"


def pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    return versions[-1] if versions and (versions[-1] / "pg_ctl").exists() else None


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL cluster in a new temporary directory (where the `postgres` user can reach
    it), removed afterwards; yields a libpq URL of its `postgres` database."""
    bindir = pg_bindir()
    if bindir is None:
        raise LakeFSUnavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
    account = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            account = pwd.getpwnam(PG_USER)
        except KeyError:
            raise LakeFSUnavailable(f"running as root and there is no {PG_USER!r} user") from None
    prefix = ["runuser", "-u", PG_USER, "--"] if account else []
    root = Path(tempfile.mkdtemp(prefix="fleetloop-lakefs-pg-"))
    if account:
        os.chown(root, account.pw_uid, account.pw_gid)
    data, log, port = root / "data", root / "postgres.log", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, str(bindir / args[0]), *args[1:]], capture_output=True)
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise LakeFSUnavailable(f"{args[0]} failed: {done.stderr.decode()}{tail}")

    try:
        run("initdb", "-D", str(data), "-U", PG_USER, "--auth=trust", "--no-sync", "-E", "UTF8")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
        yield f"postgres://{PG_USER}@127.0.0.1:{port}/postgres?sslmode=disable"
    finally:
        if (data / "postmaster.pid").exists():
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def s3_server(root: Path, timeout: float = 30.0) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with the bucket `BUCKET`; yields its endpoint."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise LakeFSUnavailable("moto is not installed (pip install 'moto[s3]' flask)") from None
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (root / "moto.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"), timeout=5
                ).close()
                break
            except (OSError, urllib.error.URLError):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = root / "moto.log"
                    raise LakeFSUnavailable(f"moto.server did not start (see {log})") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def production_config(home: Path, secret: str, database_url: str, s3_endpoint: str) -> dict:
    """lakeFS with its KV in PostgreSQL and its blockstore on S3, pre-signed URLs on."""
    config = local_config(home, secret)
    config["database"] = {"type": "postgres", "postgres": {"connection_string": database_url}}
    config["blockstore"] = {
        "type": "s3",
        "default_namespace_prefix": f"s3://{BUCKET}/lakefs",
        "s3": {
            "endpoint": s3_endpoint,
            "force_path_style": True,
            "region": "us-east-1",
            "discover_bucket_region": False,
            "credentials": {"access_key_id": S3_KEY[0], "secret_access_key": S3_KEY[1]},
            "pre_signed_expiry": "15m",
        },
    }
    return config
