"""The content-addressed object directory: large objects' bytes, named by their sha256.

Files are written to `tmp/` while hashing, fsynced, then renamed to `<sha[:2]>/<sha>` (new
directories and the rename fsynced too), so an object file either is complete or does not
exist. A write of content already present keeps the existing file only if it has the size.
Files are read-only once placed; reads go straight to them (polars and pyarrow can map them
without a copy).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from resources.versioning.local.durable import fsync_dir, make_dirs

CHUNK = 1 << 20


class ObjectDirectory:
    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def ingest(self, first: bytes, rest: BinaryIO) -> tuple[str, int]:
        """Stream `first` then the remainder of `rest` into the directory; (sha256, size)."""
        tmp_dir = self.root / "tmp"
        make_dirs(tmp_dir)
        tmp = tmp_dir / uuid.uuid4().hex
        digest = hashlib.sha256()
        size = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            for block in _aligned_blocks(first, rest):
                digest.update(block)
                size += len(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        sha = digest.hexdigest()
        final = self.path(sha)
        try:
            present = final.stat().st_size == size
        except FileNotFoundError:
            present = False
        if present:
            tmp.unlink()
        else:
            # Absent, or short (damaged, or copied in by hand): this one is whole and fsynced.
            make_dirs(final.parent)
            os.replace(tmp, final)
            fsync_dir(final.parent)
        return sha, size

    def verify(self, sha256: str, size: int, *, full: bool) -> str | None:
        """A problem description, or None when the object file is intact."""
        path = self.path(sha256)
        if not path.exists():
            return f"object file {sha256} is missing"
        if path.stat().st_size != size:
            return f"object file {sha256} has {path.stat().st_size} bytes, expected {size}"
        if full:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() != sha256:
                return f"object file {sha256} does not match its checksum"
        return None


def _aligned_blocks(first: bytes, rest: BinaryIO) -> Iterator[bytes]:
    """`first` then `rest` as CHUNK-sized blocks (the last one shorter). Writes that start on
    CHUNK boundaries let the page cache keep the file in large folios, which is what makes a
    warm read of the object file as fast as that of a file written by `cp`."""
    pending = bytearray(first)
    eof = False
    while pending or not eof:
        while not eof and len(pending) < CHUNK:
            more = rest.read(CHUNK - len(pending))
            if more:
                pending += more
            else:
                eof = True
        if not pending:
            return
        block = bytes(pending[:CHUNK])
        del pending[:CHUNK]
        yield block
