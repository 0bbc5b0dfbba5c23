"""Several processes writing one LocalStore repository at once lose no update: transactions
into the same branch, commits to their own branches and commits to one shared branch all end
up exactly where they belong. The workers are tests/versioning/store_workers.py."""

from __future__ import annotations

import json

import pytest
from store_workers import REPO, WORKER_COMMITS, content, spawn, start, worker_paths

from resources.versioning import ConflictError, MergeConflictError
from resources.versioning.local import LocalStore
from resources.versioning.local.repository import commit_id_of

pytestmark = pytest.mark.slow

TXN_WORKERS, OWN_WORKERS, SHARED_WORKERS = 4, 2, 2


def holds_exactly(store, ref, expected: dict[str, bytes]) -> None:
    listed = [stat.path for stat in store.list_objects(REPO, ref)]
    assert listed == sorted(expected)
    for path, data in expected.items():
        assert store.get(REPO, ref, path) == data, path


def every_object(kind: str, workers: int) -> dict[str, bytes]:
    return {
        path: content(path)
        for worker in range(workers)
        for step in range(WORKER_COMMITS)
        for path in worker_paths(kind, worker, step)
    }


def test_concurrent_writers_lose_no_update(tmp_path):
    root = tmp_path / "store"
    store = LocalStore(root)
    store.create_repository(REPO)
    base = store.get_branch(REPO, "main").commit_id
    for branch in ["shared", *(f"own-{w}" for w in range(OWN_WORKERS))]:
        store.create_branch(REPO, branch, "main")
    children = [spawn("txn", str(root), str(w)) for w in range(TXN_WORKERS)]
    children += [spawn("own", str(root), str(w)) for w in range(OWN_WORKERS)]
    children += [spawn("shared", str(root), str(w)) for w in range(SHARED_WORKERS)]
    for child in children:  # all ready: start them together
        start(child)
    reports = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    store = LocalStore(root)
    assert store.fsck(REPO).ok

    # main: one merge commit per transaction, each with its own objects, none lost.
    holds_exactly(store, "main", every_object("txn", TXN_WORKERS))
    merges = [c for c in store.log(REPO, "main") if len(c.parents) == 2]
    assert sorted((c.metadata["worker"], c.metadata["step"]) for c in merges) == sorted(
        (str(w), str(s)) for w in range(TXN_WORKERS) for s in range(WORKER_COMMITS)
    )
    assert store.get_commit(REPO, "main~" + str(len(merges))).id == base
    order = [c.metadata["worker"] for c in merges]
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches > TXN_WORKERS - 1, f"the transactions ran one worker after another: {order}"

    # Own branches: a straight line of the worker's commits.
    for worker in range(OWN_WORKERS):
        branch = f"own-{worker}"
        expected = {
            path: content(path)
            for step in range(WORKER_COMMITS)
            for path in worker_paths("own", worker, step)
        }
        holds_exactly(store, branch, expected)
        history = [c.metadata.get("step") for c in store.log(REPO, branch)]
        assert history == [*(str(s) for s in reversed(range(WORKER_COMMITS))), None]

    # The shared branch: every object committed by someone (a commit may take another
    # writer's staged objects along; that writer's own commit is then empty).
    holds_exactly(store, "shared", every_object("shared", SHARED_WORKERS))
    assert store.uncommitted(REPO, "shared") == []
    shared_reports = reports[TXN_WORKERS + OWN_WORKERS :]
    made = [commit for report in shared_reports for commit in report["commits"]]
    assert sum(r["empty"] for r in shared_reports) + len(made) >= SHARED_WORKERS * WORKER_COMMITS
    assert sorted(c.id for c in store.log(REPO, "shared") if c.id != base) == sorted(made)

    # No ephemeral transaction branch is left behind.
    assert sorted(b.name for b in store.list_branches(REPO)) == sorted(
        ["main", "shared", *(f"own-{w}" for w in range(OWN_WORKERS))]
    )


def test_a_commit_whose_head_moved_is_refused_and_changes_nothing(tmp_path):
    """The compare-and-swap under the branch lock: a writer that prepared a commit on a head
    that has moved gets a ConflictError telling it to retry, and the branch stays put."""
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    r = store._repo(REPO)
    stale = r.branch_commit("main")
    store.put(REPO, "main", "a.txt", b"a")
    moved = store.commit(REPO, "main", "moved").id
    with pytest.raises(ConflictError, match="moved while committing; retry"):
        r.create_commit("main", stale.id, "late", None, stale.tree_id, [stale.id])
    assert store.get_branch(REPO, "main").commit_id == moved
    assert commit_id_of(r.branch_commit("main").id) == moved


def test_transact_retries_a_lost_race_and_then_gives_up_clearly(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    real_merge = store.merge
    losses = {"left": 2}

    def racy_merge(*args, **kwargs):
        if losses["left"]:
            losses["left"] -= 1
            raise ConflictError("branch 'main' in repository 'drive-data' moved; retry")
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(store, "merge", racy_merge)
    with store.transact(REPO, "main", "retried") as branch:
        store.put(REPO, branch, "a.txt", b"a")
    assert store.get(REPO, "main", "a.txt") == b"a" and losses["left"] == 0

    losses["left"] = 100
    with pytest.raises(ConflictError, match="retry"):
        with store.transact(REPO, "main", "hopeless", retries=3) as branch:
            store.put(REPO, branch, "b.txt", b"b")
    assert losses["left"] == 100 - 4  # the first try and three retries
    assert not store.exists(REPO, "main", "b.txt")
    assert [b.name for b in store.list_branches(REPO)] == ["main"]


def test_transact_does_not_retry_a_merge_conflict(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    with pytest.raises(MergeConflictError, match="a.txt"):
        with store.transact(REPO, "main", "conflicting") as branch:
            store.put(REPO, branch, "a.txt", b"from the transaction")
            store.put(REPO, "main", "a.txt", b"from main meanwhile")
            store.commit(REPO, "main", "meanwhile")
    assert store.get(REPO, "main", "a.txt") == b"from main meanwhile"
    assert [b.name for b in store.list_branches(REPO)] == ["main"]
