"""Durability details of the embedded store that a crash test cannot see directly: a short
object file is rewritten, not trusted; a put waits for the branch lock, so it lands before or
after a merge, never inside one. (Power loss itself: test_power_loss.py.)"""

from __future__ import annotations

import os
import threading
import time

import pytest

from resources.versioning.errors import DirtyBranchError
from resources.versioning.local import LocalStore

REPO = "drive-data"
BIG = bytes(range(256)) * 200  # 51 kB: an object file, not inline


@pytest.fixture
def local(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    return store


def test_a_short_object_file_is_rewritten_by_the_next_write_of_its_content(local):
    local.put(REPO, "main", "a.bin", BIG)
    local.commit(REPO, "main", "a")
    path = local.local_path(REPO, "main", "a.bin")
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.truncate(len(BIG) // 2)  # what a lost write-back or a bad copy leaves
    os.chmod(path, 0o444)
    local.put(REPO, "main", "b.bin", BIG)  # same bytes: dedup must not trust the short file
    assert path.stat().st_size == len(BIG)
    assert local.get(REPO, "main", "a.bin") == BIG
    assert local.fsck(REPO, full=True).ok


@pytest.mark.parametrize("write", ["put", "put_many", "delete"])
def test_a_write_waits_while_the_branch_is_locked(local, write):
    local.put(REPO, "main", "old.bin", b"old")
    local.commit(REPO, "main", "old")
    repo = local._repo(REPO)
    landed = threading.Event()

    def writer():
        if write == "put":
            local.put(REPO, "main", "new.bin", b"new")
        elif write == "put_many":
            local.put_many(REPO, "main", [("new.bin", b"new")])
        else:
            local.delete(REPO, "main", "old.bin")
        landed.set()

    with repo.lock("main"):  # what a merge into main holds while it checks and moves main
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.3)
        assert not landed.is_set(), "the write landed while the branch was locked"
        assert local.uncommitted(REPO, "main") == []
    thread.join(timeout=10)
    assert landed.is_set()
    assert len(local.uncommitted(REPO, "main")) == 1


def test_a_merge_after_a_put_sees_the_branch_dirty(local):
    local.create_branch(REPO, "side", "main")
    local.put(REPO, "side", "s.bin", b"s")
    local.commit(REPO, "side", "s")
    local.put(REPO, "main", "m.bin", b"m")
    with pytest.raises(DirtyBranchError):
        local.merge(REPO, "side", "main")


def test_a_new_store_root_and_repository_are_complete_on_disk(tmp_path):
    root = tmp_path / "a" / "b" / "store"
    store = LocalStore(root)
    store.create_repository(REPO)
    assert (root / REPO / "repository.json").stat().st_mode & 0o777 == 0o644
    assert not list(root.glob(".creating-*"))
    assert LocalStore(root).fsck(REPO).ok


def test_a_repository_missing_its_git_directory_is_corrupt_not_a_pygit2_error(tmp_path):
    """What a power cut right after the repository's rename left before its tree was
    fsynced (test_power_loss.py found it): every entry point says CorruptionError."""
    import shutil

    from resources.versioning.errors import CorruptionError

    root = tmp_path / "store"
    LocalStore(root).create_repository(REPO)
    shutil.rmtree(root / REPO / "git")
    store = LocalStore(root)
    for call in (
        lambda: store.list_repositories(),
        lambda: store.get_commit(REPO, "main"),
        lambda: store.fsck(REPO),
    ):
        with pytest.raises(CorruptionError, match="cannot be opened"):
            call()
