"""The store's fault points: the registry lives in `resources/faults.py`, shared with the
loop; `POINTS` here are the store's own, which bench/faults_store.py kills at."""

from __future__ import annotations

from resources.faults import EXIT_STATUS, STORE_POINTS, point

POINTS = STORE_POINTS

__all__ = ["EXIT_STATUS", "POINTS", "point"]
