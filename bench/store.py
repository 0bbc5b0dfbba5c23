"""`make bench-store`: LocalStore against plain files, git, DVC and lakeFS, side by side.

    python -m bench.store [--quick] [--keep] [--output PATH]

Prints a goals table and a side-by-side table, and writes bench/results/store.json. Scratch
data lives in a temporary directory under /tmp, removed at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pygit2

from bench import lakefs_peer, local, report
from bench.cli import git_version
from bench.config import FULL, QUICK, Config
from bench.peers import run_peers
from bench.timing import fsync_ms

RESULTS = Path(__file__).resolve().parent / "results" / "store.json"


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pygit2": pygit2.__version__,
        "libgit2": pygit2.LIBGIT2_VERSION,
        "git": git_version(),
    }


def measure(cfg: Config, tmp: Path) -> dict:
    results: dict = {"quick": cfg.quick, "machine": machine(), "sizes": list(cfg.sizes)}
    results["fsync_ms_p50"] = {"start": fsync_ms(tmp)}
    results.update(local.run(cfg, tmp))
    results["peers"] = run_peers(cfg, tmp, results["large_read_mb_per_s"]["plain"])
    results["peers"]["lakefs"] = lakefs_peer.run(cfg, tmp)
    results["fsync_ms_p50"]["end"] = fsync_ms(tmp)
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a couple of minutes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="fleetloop-bench-store-", dir="/tmp"))
    print(f"bench-store ({'quick' if cfg.quick else 'full'}): scratch in {tmp}", flush=True)
    try:
        results = measure(cfg, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["goals"] = report.goals(results, cfg)
    if "skipped" not in results["peers"]["lakefs"]:
        results["peers"]["lakefs"]["versus_localstore"] = report.versus_lakefs(results, cfg)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.goals_table(results))
    print()
    print(report.side_by_side(results, cfg))
    for note in report.footnotes(results):
        print(f"  * {note}")
    if (overhead := report.overhead_table(results)) is not None:
        print()
        print(overhead)
    print(f"\nwrote {args.output} in {results['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
