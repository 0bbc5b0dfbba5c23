"""The production stack on one machine, for `fleetloop demo --stack production`.

One PostgreSQL cluster holds three databases: lakeFS's metadata (`lakefs`), the Dagster
instance's runs, event log and schedules (`dagster`) and fleetloop's catalog (`catalog`).
lakeFS keeps its objects on an S3-compatible server (moto, from PyPI) and hands out pre-signed
URLs to it. `environment()` gives the variables that point every fleetloop process at the
stack (the demo's Dagster instance reads `FLEETLOOP_DAGSTER_POSTGRES_URL`).

The stack lives as long as the `with` block: PostgreSQL's cluster is a temporary directory and
moto keeps its objects in memory, so a production demo's data ends with it. lakeFS's home
(config, logs, admin keys) stays under `home` for reading afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from deploy.lakefs import server, stack

DATABASES = ("lakefs", "dagster", "catalog")


@dataclasses.dataclass(frozen=True)
class ProductionStack:
    postgres: str  # libpq URL of the cluster's `postgres` database
    s3_endpoint: str
    lakefs: server.Server

    def database_url(self, name: str, driver: str = "postgresql") -> str:
        return database_url(self.postgres, name, driver)

    def environment(self) -> dict[str, str]:
        return {
            "FLEETLOOP_STORE": "lakefs",
            **self.lakefs.environment(),
            "LAKECTL_CONFIG_FILE": str(self.lakefs.lakectl_config),
            "FLEETLOOP_CATALOG_URL": self.database_url("catalog", "postgresql+psycopg"),
            # SQLAlchemy 2.1 defaults postgresql:// to psycopg 3, whose server-side binding some of
            # dagster-postgres's statements do not survive ("syntax error at or near $1").
            "FLEETLOOP_DAGSTER_POSTGRES_URL": self.database_url("dagster", "postgresql+psycopg2"),
        }


def database_url(cluster: str, name: str, driver: str = "postgresql") -> str:
    """The URL of database `name` on the cluster at `cluster`, for `driver`'s client."""
    parts = urlsplit(cluster)
    return f"{driver}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


def _create_databases(url: str) -> None:
    bindir = stack.pg_bindir()
    psql = str(bindir / "psql") if bindir and (bindir / "psql").exists() else "psql"
    for name in DATABASES:
        done = subprocess.run(
            [psql, url, "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{name}"'],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise server.LakeFSUnavailable(f"creating database {name}: {done.stderr.strip()}")


@contextlib.contextmanager
def production_stack(home: Path) -> Iterator[ProductionStack]:
    """PostgreSQL, moto's S3 and lakeFS on both, for the block; lakeFS's home is
    `home/lakefs-production`."""
    if not server.binary("lakefs").exists():
        server.build()
    lakefs_home = home / "lakefs-production"
    with stack.postgres() as database, stack.s3_server(lakefs_home / "s3") as s3:
        _create_databases(database)
        lakefs_db = database_url(database, "lakefs", "postgres")
        for stale in ("lakefs.pid", "lakectl.yaml", "admin.keys"):  # a new cluster: a new admin
            (lakefs_home / stale).unlink(missing_ok=True)
        with server.serving(
            lakefs_home,
            config=lambda h, secret: stack.production_config(h, secret, lakefs_db, s3),
        ) as running:
            yield ProductionStack(database, s3, running)
