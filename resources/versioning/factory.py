"""The one place that picks the store backend from the environment.

`FLEETLOOP_STORE=local` (default) opens the embedded store under `$FLEETLOOP_HOME/store`;
`FLEETLOOP_STORE=lakefs` connects to the lakeFS server named by `LAKECTL_*` variables,
`$LAKECTL_CONFIG_FILE` or `~/.lakectl.yaml`, and else to the one `make lakefs` started, whose
lakectl config is `$FLEETLOOP_HOME/lakefs/lakectl.yaml`.
"""

from __future__ import annotations

import os
from pathlib import Path

from resources.settings import fleetloop_home
from resources.versioning.errors import InvalidArgumentError
from resources.versioning.protocol import VersionedStore

DEFAULT_REPOSITORY = "drive-data"


def open_store(backend: str | None = None) -> VersionedStore:
    backend = (backend or os.environ.get("FLEETLOOP_STORE") or "local").lower()
    if backend == "local":
        from resources.versioning.local import LocalStore

        return LocalStore()
    if backend == "lakefs":
        from resources.versioning.lakefs_store import LakeFSStore, client_from_lakectl_file

        local = fleetloop_home() / "lakefs" / "lakectl.yaml"
        configured = any(name.startswith("LAKECTL_") for name in os.environ)
        if configured or (Path.home() / ".lakectl.yaml").exists() or not local.exists():
            return LakeFSStore()
        return LakeFSStore(client_from_lakectl_file(local))
    raise InvalidArgumentError(f"unknown store backend {backend!r}: use 'local' or 'lakefs'")


def default_repository() -> str:
    return os.environ.get("FLEETLOOP_REPOSITORY", DEFAULT_REPOSITORY)
