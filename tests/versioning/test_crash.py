"""A LocalStore writer killed with SIGKILL at many different instants never leaves a half
commit: the repository opens, fsck passes, `main` is at the old or the new head, and every
committed object reads back byte-identical. The writer is tests/versioning/store_workers.py."""

from __future__ import annotations

import collections
import hashlib
import random
import signal
import time

import pytest
from store_workers import REPO, expected_state, round_objects, spawn, start

from resources.versioning.local import LocalStore

pytestmark = pytest.mark.slow

REPOSITORIES = 4  # fresh ones, so fsck after each kill does not re-walk a long history
KILLS_PER_REPOSITORY = 6
MAX_DELAY_S = 0.4  # a writer commits a round every ~0.1-0.2 s: kills land all over rounds


def verify(root, *, full: bool) -> int:
    """Check the repository as a process opening it after the crash would; return the round
    `main` is at."""
    store = LocalStore(root)
    assert store.fsck(REPO, full=full).ok  # raises CorruptionError naming every problem
    head = store.get_commit(REPO, "main")
    round_ = int(head.metadata.get("round", "0"))
    history = [commit.metadata.get("round") for commit in store.log(REPO, "main")]
    assert history == [*(str(k) for k in range(round_, 0, -1)), None]  # no round lost or torn
    expected = expected_state(round_)
    listed = {stat.path: stat for stat in store.list_objects(REPO, head.id)}
    assert listed.keys() == expected.keys()
    for path, stat in listed.items():
        assert (stat.checksum, stat.size) == (
            hashlib.sha256(expected[path]).hexdigest(),
            len(expected[path]),
        ), path
    recent = [*round_objects(round_), *round_objects(round_ - 1)]
    recent += [path for path in expected if not path.startswith("rounds/")]
    for path in recent:
        if path in expected:
            assert store.get(REPO, head.id, path) == expected[path], path
    return round_


def test_sigkill_at_any_instant_leaves_the_old_or_the_new_head(tmp_path):
    rng = random.Random(20_240_601)
    kills = REPOSITORIES * KILLS_PER_REPOSITORY
    delays = [MAX_DELAY_S * (i + rng.random()) / kills for i in range(kills)]
    rng.shuffle(delays)
    phases: collections.Counter[str] = collections.Counter()
    rounds = 0
    for number in range(REPOSITORIES):
        root = tmp_path / f"store-{number}"
        LocalStore(root).create_repository(REPO)
        head = 0
        for kill in range(KILLS_PER_REPOSITORY):
            child = spawn("crash", str(root))
            start(child)
            time.sleep(delays.pop())
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
            assert child.returncode == -signal.SIGKILL, err
            lines = out.split("\n")[:-1]
            committed = [int(line.split()[1]) for line in lines if line.startswith("committed ")]
            before = max(committed, default=head)
            phases[lines[-1].split()[0] if lines else "idle"] += 1
            head = verify(root, full=kill == KILLS_PER_REPOSITORY - 1)
            # The kill landed before, inside or after the commit that followed the last
            # reported one: the head is that commit's parent or the commit itself.
            assert head in (before, before + 1), (head, before, lines[-3:])
        store = LocalStore(root)
        at = store.get_commit(REPO, "main").id  # `main` itself shows what the last one staged
        for path, data in expected_state(head).items():
            assert store.get(REPO, at, path) == data, path
        rounds += head
    # The kills hit writers in the middle of staging and in the middle of committing.
    assert phases["put"] >= 2 and phases["commit"] >= 2, phases
    assert rounds >= REPOSITORIES, f"only {rounds} rounds were committed: the writer barely ran"
