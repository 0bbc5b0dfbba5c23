"""Simulated power loss for the embedded store, shared by test_power_loss.py and
bench/faults_store.py.

A child process runs store operations under an LD_PRELOAD shim (powerloss_shim.c) that
records what every fsync/fdatasync under the store root made durable, by whoever called it
(our code, libgit2, SQLite), and kills the process right after sync point k. The tree a power
cut would leave is then rebuilt from the initial state and those records alone, in two models
of what the kernel had not yet written back:

- `strict`: a directory's entries are those of its last fsync (or the initial ones), a file's
  bytes those of its last fsync (or the initial ones, or nothing). Every un-fsynced create,
  rename, unlink and write is undone: what a missing directory fsync costs.
- `entries`: every directory entry as the process left it, but each file's bytes as of its
  last fsync: the "renamed into place, data never written" loss of delayed allocation.

The rebuilt tree must open, pass fsck, and hold everything an operation reported as done.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
SHIM_SOURCE = HERE / "powerloss_shim.c"
MODELS = ("strict", "entries")
CRASH_STATUS = 86


def build_shim(directory: Path) -> Path | None:
    """Compile the shim into `directory`; None when there is no C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    library = directory / "powerloss_shim.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(SHIM_SOURCE), "-ldl"],
        check=True,
        capture_output=True,
    )
    return library


@dataclass
class Snapshot:
    """A tree as inodes: directory entries (name -> (inode, is_dir)) and file bytes."""

    root_inode: int
    dirs: dict[int, dict[str, tuple[int, bool]]]
    files: dict[int, bytes]


def snapshot(root: Path) -> Snapshot:
    dirs: dict[int, dict[str, tuple[int, bool]]] = {}
    files: dict[int, bytes] = {}
    for directory, subdirs, names in os.walk(root):
        entries = {}
        for name in subdirs:
            entries[name] = (os.lstat(os.path.join(directory, name)).st_ino, True)
        for name in names:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            entries[name] = (info.st_ino, False)
            files[info.st_ino] = Path(path).read_bytes()
        dirs[os.lstat(directory).st_ino] = entries
    return Snapshot(os.lstat(root).st_ino, dirs, files)


@dataclass
class Records:
    """What the shim recorded, in order: (kind 'F'/'D', inode, path, data file)."""

    entries: list[tuple[str, int, str, Path]]

    @classmethod
    def read(cls, log: Path) -> Records:
        index = log / "log"
        rows = []
        for line in index.read_text().splitlines() if index.exists() else []:
            seq, kind, inode, path = line.split(" ", 3)
            rows.append((kind, int(inode), path, log / f"{seq}.bin"))
        return cls(rows)


def _listing(data: Path) -> dict[str, tuple[int, bool]]:
    entries = {}
    for line in data.read_text().splitlines():
        inode, kind, name = line.split(" ", 2)
        entries[name] = (int(inode), int(kind) == 4)  # DT_DIR
    return entries


def rebuild(initial: Snapshot, records: Records, crashed: Path, out: Path, model: str) -> None:
    """Write to `out` the tree a power cut right after the last record would leave."""
    durable_dirs = dict(initial.dirs)
    durable_files = dict(initial.files)
    for kind, inode, _, data in records.entries:
        if kind == "D":
            durable_dirs[inode] = _listing(data)
        else:
            durable_files[inode] = data.read_bytes()
    if model == "entries":
        current = snapshot(crashed)
        durable_dirs, root_inode = current.dirs, current.root_inode
    else:
        root_inode = initial.root_inode
    _write_tree(root_inode, durable_dirs, durable_files, out)


def _write_tree(inode, dirs, files, out: Path) -> None:
    out.mkdir(parents=True)
    for name, (child, is_dir) in dirs.get(inode, {}).items():
        if is_dir:
            _write_tree(child, dirs, files, out / name)
        else:
            (out / name).write_bytes(files.get(child, b""))
            os.chmod(out / name, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)


def run_child(
    shim: Path, root: Path, log: Path, crash_at: int | None
) -> subprocess.CompletedProcess:
    """Run store_workers.py `powerloss` on `root` under the shim, killed after sync point
    `crash_at` (None: to its end)."""
    log.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "LD_PRELOAD": str(shim),
        "POWERLOSS_ROOT": str(root.resolve()),
        "POWERLOSS_LOG": str(log),
    }
    env.pop("FLEETLOOP_FAULT_POINT", None)
    if crash_at is not None:
        env["POWERLOSS_CRASH_AT"] = str(crash_at)
    return subprocess.run(
        [sys.executable, str(HERE / "store_workers.py"), "powerloss", str(root)],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_rebuilt(root: Path, lines: list[str]) -> str:
    """Open a rebuilt store as a process would after the power came back; assert it is
    sound, holds everything `lines` (the operations that returned) says, and takes a new
    commit. Returns what it found ('no repository', 'created', 'first', …)."""
    from store_workers import REPO, power_values

    from resources.versioning.local import LocalStore

    store = LocalStore(root)
    names = [repository.name for repository in store.list_repositories()]
    if REPO not in names:
        assert "created" not in lines, "a created repository was lost"
        return "no repository"
    assert store.fsck(REPO, full=True).ok  # raises CorruptionError naming every problem
    committed = [line.split()[1] for line in lines if line.startswith("committed ")]
    history = [commit.id for commit in store.log(REPO, "main")]
    if committed:
        assert committed[-1] in history, "a returned commit was lost"
    values = power_values()
    found = store.get_commit(REPO, "main").message
    if found in ("first", "second"):
        first = next(c.id for c in store.log(REPO, "main") if c.message == "first")
        for path, data in values.items():
            assert store.get(REPO, first, path) == data, path
    if found == "second":
        assert store.get(REPO, "main~0", "small/00.bin") == b"second"
    if any(line.startswith("tagged ") for line in lines):
        assert store.get_commit(REPO, "v1").message == "second"
    store.reset(REPO, "main")
    store.put(REPO, "main", "after/power.bin", b"back on")
    store.commit(REPO, "main", "after the power cut")
    assert store.get(REPO, "main", "after/power.bin") == b"back on"
    assert store.fsck(REPO).ok
    return {"Repository created": "created"}.get(found, found)
