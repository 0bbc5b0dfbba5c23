"""Timing helpers: wall-clock milliseconds, a quiet filesystem before each measurement."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def settle() -> None:
    """Flush other phases' dirty pages so they are not billed to the next measurement
    (LocalStore's commit calls syncfs, which would otherwise write them)."""
    os.sync()


def ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


_START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - _START:6.1f} s] {message}", flush=True)
