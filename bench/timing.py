"""Timing helpers: wall-clock milliseconds, a quiet filesystem before each measurement."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def settle() -> None:
    """Flush other phases' dirty pages so they are not billed to the next measurement (an
    fsync's journal commit can carry other files' dirty data with it)."""
    os.sync()


def fsync_ms(directory: Path, reps: int = 31) -> float:
    """p50 ms of creating a small file durably (write, fsync, rename, fsync of the directory),
    the way a ref is created: what a branch creation pays on this disk right now (other
    tenants of the machine move it)."""
    times = []
    for k in range(reps):
        tmp, final = directory / f".fsync-probe-{k}.tmp", directory / f"fsync-probe-{k}"
        start = time.perf_counter()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"0" * 41)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        times.append((time.perf_counter() - start) * 1000)
        final.unlink()
    return median(times)


def ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


_START = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - _START:6.1f} s] {message}", flush=True)


def quiet_disk(directory: Path, *, target_ms: float = 1.0, max_wait_s: float = 60.0):
    """Wait, within max_wait_s, until a durable file creation (fsync_ms) costs at most
    target_ms again: the virtual disk keeps flushing for a while after a build has written
    hundreds of MB, and a durable branch creation measured then times that backlog rather
    than the store. Returns (that cost in ms, seconds waited), both recorded next to the
    measurement."""
    started = time.perf_counter()
    while True:
        os.sync()
        latency = fsync_ms(directory, reps=9)
        waited = time.perf_counter() - started
        if latency <= target_ms or waited >= max_wait_s:
            return latency, round(waited, 1)
        time.sleep(2)
