"""The embedded store's fault figures: kills at every named fault point, SIGKILLs at random
instants, and simulated power cuts after every fsync, each checked as the test suite checks
them (tests/versioning/faultkit.py, powerloss.py).

    python -m bench.faults_store [--kills N] [--output PATH]

Writes the figures under the "store" key of bench/results/faults.json (other keys are kept,
so `make faults` can fold in the loop's).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests" / "versioning"
RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"


def _outcome(check) -> tuple[bool, str]:
    try:
        return True, str(check() or "")
    except Exception as error:  # a failed check is a figure here, not a crash of the bench
        return False, "".join(traceback.format_exception_only(error)).strip()[:500]


def fault_points(scratch: Path) -> dict:
    from faultkit import kill_and_recover, new_repository

    from resources.versioning.local.faults import POINTS

    points = {}
    for number, fault in enumerate(POINTS):
        root = scratch / f"point-{number}"
        new_repository(root)
        ok, detail = _outcome(lambda root=root, fault=fault: kill_and_recover(root, fault))
        points[fault] = {"survived": ok, **({"failure": detail} if not ok else {})}
    survived = sum(point["survived"] for point in points.values())
    return {"points": len(POINTS), "kills": len(POINTS), "survived": survived, "by_point": points}


def random_kills(scratch: Path, kills: int) -> dict:
    """SIGKILL the committing writer of test_crash.py at random instants."""
    from store_workers import REPO, spawn, start

    from resources.versioning.local import LocalStore

    root = scratch / "random"
    LocalStore(root).create_repository(REPO)
    rng = random.Random(20_261_202)
    survived, failures = 0, []
    for _ in range(kills):
        child = spawn("crash", str(root))
        start(child)
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        ok, detail = _outcome(lambda: _head_reads_back(LocalStore(root), REPO))
        survived += ok
        if not ok:
            failures.append(detail)
    return {"kills": kills, "survived": survived, "failures": failures[:5]}


def _head_reads_back(store, repo: str) -> None:
    """fsck (full), then every object at main's head read back against its checksum."""
    import hashlib

    assert store.fsck(repo, full=True).ok
    head = store.get_commit(repo, "main").id
    for stat in store.list_objects(repo, head):
        data = store.get(repo, head, stat.path)
        assert hashlib.sha256(data).hexdigest() == stat.checksum, stat.path


def power_cuts(scratch: Path) -> dict:
    from powerloss import (
        CRASH_STATUS,
        MODELS,
        Records,
        build_shim,
        check_rebuilt,
        rebuild,
        run_child,
        snapshot,
    )

    shim = build_shim(scratch)
    if shim is None:
        return {"skipped": "no C compiler for the LD_PRELOAD shim"}
    full = scratch / "power-full"
    (full / "root").mkdir(parents=True)
    run_child(shim, full / "root", full / "log", None)
    points = len(Records.read(full / "log").entries)
    consistent, failures, outcomes = 0, [], {}
    for k in range(1, points + 1):
        work = scratch / f"power-{k}"
        root = work / "root"
        root.mkdir(parents=True)
        initial = snapshot(root)
        cut = run_child(shim, root, work / "log", k)
        records = Records.read(work / "log")
        for model in MODELS:
            out = work / model
            rebuild(initial, records, root, out, model)
            ok, found = _outcome(
                lambda out=out, cut=cut: check_rebuilt(out, cut.stdout.splitlines())
            )
            ok = ok and cut.returncode == CRASH_STATUS
            consistent += ok
            if ok:
                outcomes[found] = outcomes.get(found, 0) + 1
            else:
                failures.append(f"sync {k} ({model}): {found}")
    return {
        "sync_points": points,
        "models": list(MODELS),
        "replays": points * len(MODELS),
        "consistent": consistent,
        "state_found": outcomes,
        "failures": failures[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12, help="random SIGKILLs of a writer")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fleetloop-faults-") as scratch:
        figures = {
            "fault_points": fault_points(Path(scratch)),
            "random_sigkills": random_kills(Path(scratch), args.kills),
            "power_loss": power_cuts(Path(scratch)),
        }
    figures["elapsed_s"] = round(time.monotonic() - started, 1)
    results = json.loads(args.output.read_text()) if args.output.exists() else {}
    results["store"] = figures
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    points, kills, power = (figures[k] for k in ("fault_points", "random_sigkills", "power_loss"))
    print(f"fault points: {points['survived']}/{points['kills']} kills survived")
    print(f"random SIGKILLs: {kills['survived']}/{kills['kills']} survived")
    if "replays" in power:
        print(
            f"power cuts: {power['consistent']}/{power['replays']} replays consistent "
            f"({power['sync_points']} sync points x {len(power['models'])} models)"
        )
    print(f"wrote {args.output} in {figures['elapsed_s']} s")


if __name__ == "__main__":
    main()
