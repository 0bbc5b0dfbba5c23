"""Where fleetloop keeps its state: environment variables with defaults, read at call time."""

from __future__ import annotations

import os
from pathlib import Path


def fleetloop_home() -> Path:
    """`$FLEETLOOP_HOME`, default `.fleetloop/` in the working directory."""
    return Path(os.environ.get("FLEETLOOP_HOME", ".fleetloop")).resolve()
