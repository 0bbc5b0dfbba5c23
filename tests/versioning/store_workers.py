"""Child processes of the crash and concurrency tests, and the data they write.

    python tests/versioning/store_workers.py crash ROOT
    python tests/versioning/store_workers.py txn|own|shared ROOT WORKER
    python tests/versioning/store_workers.py sequence ROOT RUN
    python tests/versioning/store_workers.py powerloss ROOT

The tests start them with `spawn` and `start`: each prints `ready`, waits for a line on stdin
(so the test can start several together) and reports progress as lines on stdout. The content
of every object is a pure function of its path, so the test can tell exactly what a branch must
hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = "drive-data"
ROUND_OBJECTS = 500  # new small objects per crash round (one put_many)
SHARED = 4  # objects rewritten by every round (single puts: loose git objects)
DELETED = 3  # objects of the round before, deleted by every round
LARGE = 40_000  # bytes of the large object each round adds (the object directory)
WORKER_COMMITS = 6  # transactions or commits per concurrency worker
WORKER_OBJECTS = 20  # objects per transaction or commit


def content(path: str, round_: int = 0) -> bytes:
    seed = hashlib.sha256(f"{path}@{round_}".encode()).digest()
    if path.startswith("large/"):
        return (seed * (LARGE // len(seed) + 1))[:LARGE]
    return seed[: 8 + seed[0] % 24] + path.encode()


def round_objects(round_: int) -> list[str]:
    return [f"rounds/{round_:04d}/obj-{i:04d}.bin" for i in range(ROUND_OBJECTS)]


def expected_state(round_: int) -> dict[str, bytes]:
    """What `main` holds once round `round_` is committed (round 0: the empty repository)."""
    state: dict[str, bytes] = {}
    for k in range(1, round_ + 1):
        for path in round_objects(k):
            state[path] = content(path)
        for path in round_objects(k - 1)[:DELETED]:
            state.pop(path, None)
        for j in range(SHARED):
            path = f"shared/{j}.bin"
            state[path] = content(path, k)
        state[f"large/{k:04d}.bin"] = content(f"large/{k:04d}.bin")
    return state


def spawn(*args: str) -> subprocess.Popen:
    """Start a worker (as the test's parent) and wait until it is ready: imports done, store
    open."""
    project = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(project)}
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=project,
    )
    assert child.stdout is not None
    if child.stdout.readline() != "ready\n":
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"worker {args} did not start: {err}")
    return child


def start(child: subprocess.Popen) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def _wait_for_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def crash(root: str) -> None:
    """Commit round after round on `main` until killed, continuing from the head's round."""
    from resources.versioning.local import LocalStore

    store = LocalStore(root)
    store.reset(REPO, "main")  # a restarted writer drops what its killed predecessor staged
    round_ = int(store.get_commit(REPO, "main").metadata.get("round", "0"))
    _wait_for_go()
    while True:
        round_ += 1
        print(f"put {round_}", flush=True)
        store.put_many(REPO, "main", [(path, content(path)) for path in round_objects(round_)])
        for j in range(SHARED):
            store.put(REPO, "main", f"shared/{j}.bin", content(f"shared/{j}.bin", round_))
        large = f"large/{round_:04d}.bin"
        store.put(REPO, "main", large, content(large))
        if round_ > 1:
            for path in round_objects(round_ - 1)[:DELETED]:
                store.delete(REPO, "main", path)
        print(f"commit {round_}", flush=True)
        store.commit(REPO, "main", f"round {round_}", metadata={"round": str(round_)})
        print(f"committed {round_}", flush=True)


def sequence_values(run: int) -> dict[str, bytes]:
    """What run `run` of `sequence` writes: a small object, a large one, the side branch's."""
    return {
        "mid": f"mid-{run}".encode(),
        "large": content(f"large/run-{run}.bin"),
        "side": f"side-{run}".encode(),
    }


def sequence(root: str, run: int) -> None:
    """One pass over every fault point (resources/versioning/local/faults.py) in order: puts
    (small and large), a commit on main, a commit on a side branch merged into main, a revert
    of the side commit on main, a tag.
    With FLEETLOOP_FAULT_POINT set the process dies at that point; lines on stdout say which
    steps completed. Values depend on `run`, so a rerun always has something to commit."""
    from resources.versioning.local import LocalStore

    store = LocalStore(root)
    values = sequence_values(run)
    side = f"side-{run}"
    store.put(REPO, "main", "p.bin", values["mid"])
    store.put(REPO, "main", f"large/run-{run}.bin", values["large"])
    print(f"staged {run}", flush=True)
    print(f"committed {store.commit(REPO, 'main', f'run {run}').id}", flush=True)
    store.create_branch(REPO, side, "main", exist_ok=True)
    store.put(REPO, side, "p.bin", values["side"])
    side_commit = store.commit(REPO, side, f"side {run}")
    print(f"merged {store.merge(REPO, side, 'main').id}", flush=True)
    print(f"reverted {store.revert(REPO, 'main', side_commit.id).id}", flush=True)
    print(f"tagged {store.create_tag(REPO, f'v-{run}', 'main').commit_id}", flush=True)
    print("done", flush=True)


POWER_LARGE = 3 << 20  # bytes of the large object the power-loss run writes


def power_values() -> dict[str, bytes]:
    """What `powerloss` commits: a large object, small ones, then a second value of one."""
    values = {f"small/{i:02d}.bin": content(f"small/{i:02d}.bin") for i in range(20)}
    values["large/blob.bin"] = (content("large/x") * (POWER_LARGE // LARGE + 1))[:POWER_LARGE]
    return values


def powerloss(root: str) -> None:
    """Create a repository, write a large object, commit; change one object, commit; tag.
    Each line on stdout is an operation that returned (so must survive a power cut)."""
    from resources.versioning.local import LocalStore

    store = LocalStore(root)
    store.create_repository(REPO)
    print("created", flush=True)
    values = power_values()
    store.put(REPO, "main", "large/blob.bin", values["large/blob.bin"])
    store.put_many(REPO, "main", [(k, v) for k, v in values.items() if k.startswith("small/")])
    print(f"committed {store.commit(REPO, 'main', 'first').id}", flush=True)
    store.put(REPO, "main", "small/00.bin", b"second")
    print(f"committed {store.commit(REPO, 'main', 'second').id}", flush=True)
    print(f"tagged {store.create_tag(REPO, 'v1', 'main').commit_id}", flush=True)


def worker_paths(kind: str, worker: int, step: int) -> list[str]:
    return [f"{kind}/w{worker}/s{step}/{i:02d}.bin" for i in range(WORKER_OBJECTS)]


def concurrent(kind: str, root: str, worker: int) -> None:
    """`txn`: transactions into main; `own`: commits to the worker's own branch; `shared`:
    commits to one branch that other `shared` workers commit to as well."""
    from resources.versioning.errors import ConflictError, EmptyCommitError
    from resources.versioning.local import LocalStore

    store = LocalStore(root)
    branch = {"txn": "main", "own": f"own-{worker}", "shared": "shared"}[kind]
    _wait_for_go()
    report = {"commits": [], "empty": 0, "conflicts": 0}
    for step in range(WORKER_COMMITS):
        items = [(path, content(path)) for path in worker_paths(kind, worker, step)]
        meta = {"worker": str(worker), "step": str(step)}
        if kind == "txn":
            with store.transact(REPO, branch, f"txn w{worker} s{step}", metadata=meta) as tx:
                store.put_many(REPO, tx, items)
            continue
        store.put_many(REPO, branch, items)
        while True:
            try:
                made = store.commit(REPO, branch, f"w{worker} s{step}", metadata=meta)
            except EmptyCommitError:
                report["empty"] += 1  # another writer's commit took our staged objects along
            except ConflictError:
                report["conflicts"] += 1  # the head moved under us: our rows are still staged
                continue
            else:
                report["commits"].append(made.id)
            break
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2])
    elif sys.argv[1] == "powerloss":
        powerloss(sys.argv[2])
    elif sys.argv[1] == "sequence":
        sequence(sys.argv[2], int(sys.argv[3]))
    else:
        concurrent(sys.argv[1], sys.argv[2], int(sys.argv[3]))
