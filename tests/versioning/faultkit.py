"""Kill a store process at a named fault point and check what it left: shared by
test_faults.py and bench/faults_store.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import store_workers
from store_workers import REPO, sequence_values

from resources.versioning.local import LocalStore
from resources.versioning.local.faults import EXIT_STATUS

PROJECT = Path(__file__).resolve().parents[2]
BASE = {"p.bin": b"old", "base/large.bin": store_workers.content("large/base.bin")}


def run_sequence(root: Path, run: int, fault: str | None) -> list[str]:
    """Run tests/versioning/store_workers.py `sequence`; its stdout lines. Armed with a fault
    point, the worker must die there; unarmed, it must finish."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    env.pop("FLEETLOOP_FAULT_POINT", None)
    if fault is not None:
        env["FLEETLOOP_FAULT_POINT"] = fault
    worker = [sys.executable, store_workers.__file__, "sequence", str(root), str(run)]
    done = subprocess.run(worker, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    expected = EXIT_STATUS if fault is not None else 0
    assert done.returncode == expected, (fault, done.returncode, done.stderr[-2000:])
    assert (lines[-1:] == ["done"]) == (fault is None), (fault, lines)
    return lines


def committed_bytes(store: LocalStore) -> dict[tuple[str, str], bytes]:
    """Every object of every commit reachable from a branch or tag, read back and checked
    against the checksum and size its record holds."""
    heads = [ref.commit_id for ref in (*store.list_branches(REPO), *store.list_tags(REPO))]
    seen: dict[tuple[str, str], bytes] = {}
    for head in heads:
        for commit in store.log(REPO, head):
            for stat in store.list_objects(REPO, commit.id):
                if (commit.id, stat.path) in seen:
                    continue
                data = store.get(REPO, commit.id, stat.path)
                assert hashlib.sha256(data).hexdigest() == stat.checksum, (commit.id, stat.path)
                assert len(data) == stat.size
                seen[commit.id, stat.path] = data
    return seen


def reopen_and_check(root: Path) -> LocalStore:
    store = LocalStore(root)
    assert store.fsck(REPO, full=True).ok  # raises CorruptionError naming every problem
    committed_bytes(store)
    return store


def new_repository(root: Path) -> None:
    store = LocalStore(root)
    store.create_repository(REPO)
    for path, data in BASE.items():
        store.put(REPO, "main", path, data)
    store.commit(REPO, "main", "base")


def kill_and_recover(root: Path, fault: str) -> None:
    """Run the sequence killed at `fault` on a repository made by new_repository, then check
    (asserting) that nothing committed was lost and that the store goes on."""
    lines = run_sequence(root, 1, fault)
    store = reopen_and_check(root)
    values = sequence_values(1)
    main = store.get_commit(REPO, "main")
    done = {line.split()[0]: line.split()[-1] for line in lines}
    if "committed" in done:  # the commit returned: main is at it or past it
        assert done["committed"] in {c.id for c in store.log(REPO, "main")}
    if "merged" in done:
        assert done["merged"] in {c.id for c in store.log(REPO, "main")}
    if "merged" in done and "reverted" not in done:
        # main is at the merge, or at the revert the process made but did not report
        assert done["merged"] in (main.id, *main.parents)
    if "reverted" in done:
        assert main.id == done["reverted"]
        assert store.get(REPO, "main", "p.bin") == values["mid"]
    if "tagged" in done:
        assert store.get_commit(REPO, "v-1").id == main.id
    # Main holds the base, with p.bin as the base, the killed commit or the merge left it.
    objects = store.list_objects(REPO, main.id)
    committed = {stat.path: store.get(REPO, main.id, stat.path) for stat in objects}
    assert committed["base/large.bin"] == BASE["base/large.bin"]
    assert committed["p.bin"] in (b"old", values["mid"], values["side"])

    # The next operations on main: a merge into it, then a commit on it. A commit killed
    # after moving main left its staged rows behind; they must not shadow the merge.
    if store.uncommitted(REPO, "main"):  # the run died before its commit moved main
        store.commit(REPO, "main", "what the dead run staged")
    store.create_branch(REPO, "next", "main")
    store.put(REPO, "next", "p.bin", b"merged after the kill")
    store.commit(REPO, "next", "next")
    store.merge(REPO, "next", "main")
    assert store.get(REPO, "main", "p.bin") == b"merged after the kill"
    store.put(REPO, "main", "q.bin", b"q")
    store.commit(REPO, "main", "after the kill")
    assert store.get(REPO, "main~0", "p.bin") == b"merged after the kill"
    assert store.uncommitted(REPO, "main") == []

    # A full rerun of the sequence, in a new process, completes.
    run_sequence(root, 2, None)
    store = reopen_and_check(root)
    assert store.get(REPO, "main", "p.bin") == sequence_values(2)["mid"]  # side reverted
    assert store.get(REPO, "main", "large/run-2.bin") == sequence_values(2)["large"]
    assert store.get_commit(REPO, "v-2").id == store.get_commit(REPO, "main").id
