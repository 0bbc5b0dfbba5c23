"""Crash-safe file writes: temp file + fsync + rename + fsync of the directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """`mkdir -p` that fsyncs the parent of every directory it creates, so the new entries
    survive a power loss."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        fsync_dir(directory.parent)


def git_fanout(git_dir: Path) -> None:
    """Create git's 256 loose-object directories, fsynced, where missing. libgit2 fsyncs a
    loose object and the directory it lands in, but not `objects/` when it has to create
    that directory: a power cut could drop the directory and every object in it."""
    objects = git_dir / "objects"
    created = False
    for byte in range(256):
        directory = objects / f"{byte:02x}"
        if not directory.is_dir():
            directory.mkdir(exist_ok=True)  # empty: only its entry in `objects/` must last
            created = True
    if created:
        fsync_dir(objects)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under `root`, children before parents: for a tree
    built aside and then renamed into place, whatever wrote its files (libgit2, SQLite).
    Empty directories need no fsync of their own: their entry in the parent is what lasts."""
    for directory, subdirs, files in os.walk(root, topdown=False):
        if not subdirs and not files:
            continue
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(directory))


def write_atomic(path: Path, data: bytes | Sequence[bytes], *, mode: int = 0o444) -> None:
    """Write `data` (bytes, or chunks written in order) to `path` so that a crash leaves
    either no file or the whole file."""
    chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
