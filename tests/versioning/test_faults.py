"""Fault injection: a process running puts, a commit, a merge and a tag is killed at each
named fault point of resources/versioning/local/faults.py (`os._exit`, as abrupt as SIGKILL).
After each kill the repository is reopened with nothing cleaned by hand, and it must pass a
full fsck, read back every committed byte, and take the next operations: a merge into the
branch the dead commit was on, a commit there, and a full rerun of the killed sequence."""

from __future__ import annotations

from pathlib import Path

import pytest
from faultkit import kill_and_recover, new_repository, run_sequence
from store_workers import REPO, sequence_values

from resources.versioning.local import LocalStore
from resources.versioning.local.faults import POINTS

pytestmark = pytest.mark.slow


@pytest.fixture
def repository(tmp_path) -> Path:
    root = tmp_path / "store"
    new_repository(root)
    return root


@pytest.mark.parametrize("fault", POINTS)
def test_a_kill_at_each_fault_point_loses_nothing_and_the_store_goes_on(repository, fault):
    kill_and_recover(repository, fault)


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


def test_a_process_that_had_the_repository_open_sees_the_interrupted_commit(repository):
    """A long-lived process (the daemon) opened the repository before another one died
    mid-commit: fsck warns of the unsettled commit, and its next write on the branch
    settles it."""
    store = LocalStore(repository)
    store.get_commit(REPO, "main")  # opened and cached before the kill
    run_sequence(repository, 1, "commit:ref")
    report = store.fsck(REPO)
    assert any("interrupted" in warning for warning in report.warnings), report.warnings
    store.put(REPO, "main", "q.bin", b"q")
    assert not any("interrupted" in warning for warning in store.fsck(REPO).warnings)
    assert {change.path for change in store.uncommitted(REPO, "main")} == {"q.bin"}
