"""Power loss, simulated (tests/versioning/powerloss.py): a process creating a repository,
writing a large object and committing is cut off right after each of its fsyncs in turn, and
the tree is rebuilt keeping only what was made durable, in two models of what the kernel had
not written back. Each rebuilt store opens, passes a full fsck, holds every operation that
returned, and takes the next commit."""

from __future__ import annotations

import pytest
from powerloss import CRASH_STATUS, MODELS, Records, build_shim, check_rebuilt, rebuild, run_child
from powerloss import snapshot as take_snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    library = build_shim(tmp_path_factory.mktemp("shim"))
    if library is None:
        pytest.skip("no C compiler to build the LD_PRELOAD shim")
    return library


def test_the_store_survives_a_power_cut_after_every_fsync(shim, tmp_path):
    full = tmp_path / "full"
    (full / "root").mkdir(parents=True)
    done = run_child(shim, full / "root", full / "log", None)
    assert done.returncode == 0, done.stderr[-2000:]
    points = len(Records.read(full / "log").entries)
    assert points > 40, "the shim saw too few fsyncs: is LD_PRELOAD in effect?"
    outcomes: dict[str, int] = {}
    for k in range(1, points + 1):
        work = tmp_path / f"cut-{k}"
        root = work / "root"
        root.mkdir(parents=True)
        initial = take_snapshot(root)
        cut = run_child(shim, root, work / "log", k)
        assert cut.returncode == CRASH_STATUS, (k, cut.returncode, cut.stderr[-2000:])
        records = Records.read(work / "log")
        assert len(records.entries) == k
        for model in MODELS:
            out = work / model
            rebuild(initial, records, root, out, model)
            try:
                found = check_rebuilt(out, cut.stdout.splitlines())
            except Exception as error:
                raise AssertionError(
                    f"after a power cut at sync {k} ({records.entries[-1][2]}), model {model}: "
                    f"{error}"
                ) from error
            outcomes[found] = outcomes.get(found, 0) + 1
    # The cuts landed before the repository existed, after it, and after each commit.
    assert {"no repository", "created", "first", "second"} <= outcomes.keys(), outcomes
