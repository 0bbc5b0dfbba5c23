"""A multi-pack-index over the repository's packs, written by libgit2 itself.

Every bulk put and every commit adds a pack, and libgit2 looks an object up pack by pack: at
250 packs a read cost ~120 µs instead of ~10. A multi-pack-index (git's answer, which libgit2
reads) turns that into one binary search. pygit2 does not wrap libgit2's writer, so it is
called through ctypes on the libgit2 pygit2 already loaded. The index is rewritten once
MIDX_AFTER packs are not in it; libgit2 writes it to a lock file, fsyncs it (pygit2's
ENABLE_FSYNC_GITDIR) and renames it, and it only ever names packs that exist (packs are never
deleted), so readers see the old index or the new one. Without a loadable libgit2 the store
works as before, only slower with many packs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import hashlib
import os
import struct
from pathlib import Path

import pygit2

from resources.versioning.errors import BackendError

MIDX_AFTER = 32  # packs outside the index before it is rewritten
MIDX_NAME = "multi-pack-index"


class _Error(ctypes.Structure):
    _fields_ = [("message", ctypes.c_char_p), ("klass", ctypes.c_int)]


@functools.cache
def _libgit2() -> ctypes.CDLL | None:
    """The libgit2 mapped into this process by pygit2 (the same instance, so the same
    options), else a system one, else None."""
    pygit2.Repository  # noqa: B018 - importing pygit2 is what maps libgit2
    candidates = []
    with contextlib.suppress(OSError):
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if os.path.basename(path).startswith("libgit2") and ".so" in path:
                    candidates.append(path)
    candidates.append(ctypes.util.find_library("git2") or "")
    for candidate in filter(None, candidates):
        try:
            lib = ctypes.CDLL(candidate)
            write = lib.git_odb_write_multi_pack_index
        except (OSError, AttributeError):
            continue
        write.argtypes = [ctypes.c_void_p]
        lib.git_repository_open_bare.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
        lib.git_repository_odb.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        lib.git_odb_free.argtypes = [ctypes.c_void_p]
        lib.git_repository_free.argtypes = [ctypes.c_void_p]
        lib.git_error_last.restype = ctypes.POINTER(_Error)
        lib.git_libgit2_init()  # reference-counted: a no-op beyond pygit2's own
        return lib
    return None


def available() -> bool:
    return _libgit2() is not None


def packs_outside(git_dir: Path) -> int:
    """How many packs the multi-pack-index does not cover (all of them when there is none)."""
    pack_dir = git_dir / "objects" / "pack"
    with os.scandir(pack_dir) as entries:
        packs = sum(1 for entry in entries if entry.name.endswith(".idx"))
    try:
        with open(pack_dir / MIDX_NAME, "rb") as handle:
            header = handle.read(12)
    except FileNotFoundError:
        return packs
    covered = struct.unpack(">I", header[8:12])[0] if header[:4] == b"MIDX" else 0
    return packs - covered


def _check(lib: ctypes.CDLL, result: int, what: str) -> None:
    if result < 0:
        error = lib.git_error_last()
        message = error.contents.message.decode(errors="replace") if error else "unknown"
        raise BackendError(f"libgit2 could not {what}: {message}")


def write(git_dir: Path, lock_dir: Path) -> bool:
    """Rewrite the multi-pack-index over every pack; False when libgit2 is not loadable or
    another process is writing it right now."""
    lib = _libgit2()
    if lib is None:
        return False
    lock_dir.mkdir(exist_ok=True)
    fd = os.open(lock_dir / "midx.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        # Holding our lock, a libgit2 lock file can only be left by a killed writer.
        (git_dir / "objects" / "pack" / f"{MIDX_NAME}.lock").unlink(missing_ok=True)
        repo, odb = ctypes.c_void_p(), ctypes.c_void_p()
        _check(lib, lib.git_repository_open_bare(ctypes.byref(repo), bytes(git_dir)), "open")
        try:
            _check(lib, lib.git_repository_odb(ctypes.byref(odb), repo), "open the odb")
            try:
                _check(lib, lib.git_odb_write_multi_pack_index(odb), "write the midx")
            finally:
                lib.git_odb_free(odb)
        finally:
            lib.git_repository_free(repo)
        return True
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def verify(git_dir: Path) -> str | None:
    """A problem with the multi-pack-index (its checksum, the packs it names), or None."""
    path = git_dir / "objects" / "pack" / MIDX_NAME
    if not path.exists():
        return None
    data = path.read_bytes()
    if len(data) < 32 or data[:4] != b"MIDX" or hashlib.sha1(data[:-20]).digest() != data[-20:]:
        return f"{MIDX_NAME} is damaged: delete it (the next commit writes it again)"
    chunks = {}
    for i in range(data[6]):
        chunk, offset = struct.unpack_from(">4sQ", data, 12 + 12 * i)
        end = struct.unpack_from(">Q", data, 12 + 12 * (i + 1) + 4)[0]
        chunks[chunk] = data[offset:end]
    names = [name.decode() for name in chunks.get(b"PNAM", b"").split(b"\x00") if name]
    missing = [name for name in names if not (path.parent / name).exists()]
    if missing:
        return f"{MIDX_NAME} names missing pack(s) {', '.join(missing)}: delete it"
    return None
