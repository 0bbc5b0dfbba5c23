"""Fault injection: a process running puts, a commit, a merge and a tag is killed at each
named fault point of resources/versioning/local/faults.py (`os._exit`, as abrupt as SIGKILL).
After each kill the repository is reopened with nothing cleaned by hand, and it must pass a
full fsck, read back every committed byte, and take the next operations: a merge into the
branch the dead commit was on, a commit there, and a full rerun of the killed sequence."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import store_workers
from store_workers import REPO, sequence_values

from resources.versioning.local import LocalStore
from resources.versioning.local.faults import EXIT_STATUS, POINTS

pytestmark = pytest.mark.slow

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


@pytest.fixture
def repository(tmp_path) -> Path:
    root = tmp_path / "store"
    store = LocalStore(root)
    store.create_repository(REPO)
    for path, data in BASE.items():
        store.put(REPO, "main", path, data)
    store.commit(REPO, "main", "base")
    return root


@pytest.mark.parametrize("fault", POINTS)
def test_a_kill_at_each_fault_point_loses_nothing_and_the_store_goes_on(repository, fault):
    lines = run_sequence(repository, 1, fault)
    store = reopen_and_check(repository)
    values = sequence_values(1)
    main = store.get_commit(REPO, "main")
    done = {line.split()[0]: line.split()[-1] for line in lines}
    if "committed" in done:  # the commit returned: main is at it or at the merge after it
        assert done["committed"] in {c.id for c in store.log(REPO, "main")}
    if "merged" in done:
        assert main.id == done["merged"]
        assert store.get(REPO, "main", "p.bin") == values["side"]
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
    run_sequence(repository, 2, None)
    store = reopen_and_check(repository)
    assert store.get(REPO, "main", "p.bin") == sequence_values(2)["side"]
    assert store.get(REPO, "main", "large/run-2.bin") == sequence_values(2)["large"]
    assert store.get_commit(REPO, "v-2").id == store.get_commit(REPO, "main").id


def test_a_commit_killed_after_moving_its_branch_does_not_leave_its_rows_staged(repository):
    """The defect this guards: rows of a commit killed between the ref move and the staging
    clean-up stayed staged; after a merge into the branch, reads returned the old value while
    the merge commit held the new one, and the next commit wrote the old value back."""
    lines = run_sequence(repository, 1, "commit:ref")
    assert lines == ["staged 1"]
    store = LocalStore(repository)
    assert store.get_commit(REPO, "main").message == "run 1"  # the ref did move
    store.create_branch(REPO, "next", "main")
    store.put(REPO, "next", "p.bin", b"new")
    store.commit(REPO, "next", "next")
    store.merge(REPO, "next", "main")  # refuses a dirty main: its rows are settled first
    assert store.get(REPO, "main", "p.bin") == b"new"
    store.put(REPO, "main", "q.bin", b"q")
    store.commit(REPO, "main", "next commit")
    assert store.get(REPO, "main~0", "p.bin") == b"new"


def test_a_commit_killed_before_moving_its_branch_keeps_its_rows_staged(repository):
    run_sequence(repository, 1, "commit:recorded")
    store = LocalStore(repository)
    assert store.get_commit(REPO, "main").message == "base"
    assert store.get(REPO, "main", "p.bin") == sequence_values(1)["mid"]  # still staged
    assert {change.path for change in store.uncommitted(REPO, "main")} == {
        "p.bin",
        "large/run-1.bin",
    }
    store.commit(REPO, "main", "the dead commit, again")
    assert store.get(REPO, "main~0", "p.bin") == sequence_values(1)["mid"]
    assert store.fsck(REPO, full=True).ok
