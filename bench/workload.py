"""The benchmark's data: object keys in two layouts and small deterministic payloads.

Every system gets the same bytes: LocalStore through put/put_many, the peers as files.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

_POOL = random.Random(20_240_601).randbytes(1 << 16)
CHANGES = 100  # objects changed per measured commit


def nested_key(i: int) -> str:
    return f"drives/d{i // 1000:04d}/frames/{i % 1000:03d}.png"


def flat_key(i: int) -> str:
    return f"images/{i:06d}.png"


LAYOUTS: dict[str, Callable[[int], str]] = {"nested": nested_key, "flat": flat_key}


def payload(i: int, rev: int = 0) -> bytes:
    """~100-500 bytes, unique per object (and per revision)."""
    size = 90 + (i * 7919) % 401
    offset = (i * 131) % (len(_POOL) - 512)
    return b"%d:%d\n" % (i, rev) + _POOL[offset : offset + size]


def items(layout: str, start: int, stop: int, rev: int = 0) -> Iterator[tuple[str, bytes]]:
    key = LAYOUTS[layout]
    for i in range(start, stop):
        yield key(i), payload(i, rev)


def changed(size: int, rev: int) -> list[int]:
    """The CHANGES objects rewritten by the rev-th measured commit, spread over the repo."""
    step = size // CHANGES
    return [(k * step + rev) % size for k in range(CHANGES)]


def write_file(path: Path, data: bytes) -> None:
    """Replace a file (works when a tool left the old one read-only)."""
    path.unlink(missing_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def write_tree(root: Path, layout: str, start: int, stop: int) -> None:
    """Write objects start..stop as files under root (the peers' working tree)."""
    made: set[str] = set()
    for key, data in items(layout, start, stop):
        parent = os.path.dirname(key)
        if parent not in made:
            (root / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        with open(root / key, "wb") as handle:
            handle.write(data)


def link_tree(source: Path, root: Path, layout: str, size: int) -> None:
    """Lay out the nested tree at `source` again under root in another layout, as hard links
    to the same files (same bytes, no new inodes: creating inodes is the slow part)."""
    key = LAYOUTS[layout]
    made: set[str] = set()
    for i in range(size):
        target = key(i)
        parent = os.path.dirname(target)
        if parent not in made:
            (root / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        os.link(source / nested_key(i), root / target)


def write_changes(root: Path, layout: str, size: int, rev: int) -> list[str]:
    """Rewrite the rev-th set of changed objects as files; return their keys."""
    key = LAYOUTS[layout]
    keys = []
    for i in changed(size, rev):
        write_file(root / key(i), payload(i, rev))
        keys.append(key(i))
    return keys


def write_large(path: Path, megabytes: int) -> None:
    rng = random.Random(7)
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            handle.write(rng.randbytes(1 << 20))
