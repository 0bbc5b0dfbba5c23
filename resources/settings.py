"""Where fleetloop keeps its state: environment variables with defaults, read at call time."""

from __future__ import annotations

import os
from pathlib import Path


def fleetloop_home() -> Path:
    """`$FLEETLOOP_HOME`, default `.fleetloop/` in the working directory."""
    return Path(os.environ.get("FLEETLOOP_HOME", ".fleetloop")).resolve()


STORE_VIEW_PORT = 3030


def store_view_url() -> str:
    """`$FLEETLOOP_STORE_VIEW_URL`: where fleetloop's read-only view of the embedded store is
    served (`fleetloop ui` starts it); default `http://127.0.0.1:3030`."""
    return os.environ.get("FLEETLOOP_STORE_VIEW_URL") or f"http://127.0.0.1:{STORE_VIEW_PORT}"
