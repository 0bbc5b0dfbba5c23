"""Hostile input and concurrent races: the catalog, review page and label import part of the
fault figures (issue 11), plus what `synchronous = FULL` costs the catalog on SQLite.

    python -m bench.faults_input [--writes N] [--output PATH]

Runs the test modules that try bad inputs and race the catalog's read-check-write paths (on
SQLite, and on a throwaway PostgreSQL cluster when its binaries are installed), each counting
what it tried through `$FLEETLOOP_FAULTS_LOG`; a count is only kept for a test that passed, so
"rejected" means "rejected with a clear error" and "races" means "races with no lost update".
Then times N catalog writes with `synchronous = NORMAL` and `FULL` on a scratch SQLite file.
Writes bench/results/faults_input.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.timing import fsync_ms

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "faults_input.json"
MODULES = (
    "tests/catalog/test_catalog_races.py",
    "tests/catalog/test_catalog_database.py",
    "tests/review/test_review_guards.py",
    "tests/interop/test_interop_malformed.py",
    "tests/interop/test_interop_hostile.py",
    "tests/interop/test_interop_hostile_properties.py",
    "tests/interop/test_interop_panics.py",
    "tests/interop/test_corrupt_parquet.py",
    "tests/interop/test_labeling_request_ids.py",
    "tests/quality/test_label_checks.py",
    "tests/quality/test_label_frames_checks.py",
    "tests/loop/test_upload_guards.py",
)


def run_tests(modules: tuple[str, ...]) -> dict:
    """Each module through pytest (one process, no xdist); counts by kind, and failures."""
    counts: dict[str, int] = {}
    by_test: dict[str, dict[str, int]] = {}
    failed: list[str] = []
    for module in modules:
        with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as log:
            env = {**os.environ, "FLEETLOOP_FAULTS_LOG": log.name}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-rf", module],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            failed += [  # "FAILED <node id> - <reason>"; a node id may hold spaces
                line.removeprefix("FAILED ").split(" - ", 1)[0]
                for line in done.stdout.splitlines()
                if line.startswith("FAILED ")
            ]
            if done.returncode not in (0, 1):
                failed.append(f"{module} (pytest exit {done.returncode})")
            for line in log:
                row = json.loads(line)
                if row["test"] in failed:
                    continue
                counts[row["kind"]] = counts.get(row["kind"], 0) + row["n"]
                by_test.setdefault(row["kind"], {})[row["test"]] = row["n"]
    return {"counts": counts, "by_test": by_test, "failed_tests": failed}


def sync_cost(writes: int, directory: Path) -> dict:
    """ms per catalog write (a flag, a stage timing, a request answered) with NORMAL and FULL,
    alternating rounds so the disk's mood is billed to both."""
    from resources.catalog import Catalog, database

    per_mode: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
    original = database.SQLITE_SYNCHRONOUS
    try:
        for round_ in range(3):
            for mode in ("NORMAL", "FULL"):
                database.SQLITE_SYNCHRONOUS = mode
                path = directory / f"catalog-{mode}-{round_}.db"
                with Catalog(f"sqlite:///{path}") as catalog:
                    catalog.flags()  # tables, WAL: not billed
                    start = time.perf_counter()
                    _writes(catalog, writes)
                    per_mode[mode].append(1000 * (time.perf_counter() - start) / writes)
                for leftover in directory.glob(f"catalog-{mode}-{round_}.db*"):
                    leftover.unlink()
    finally:
        database.SQLITE_SYNCHRONOUS = original
    normal, full = (statistics.median(per_mode[m]) for m in ("NORMAL", "FULL"))
    return {
        "fsync_ms_p50": round(fsync_ms(directory), 3),  # what one durable write costs right now
        "writes": writes,
        "path": "add_flag + record_stage + record_request/mark_request_answered, one "
        "transaction each",
        "ms_per_write_normal": round(normal, 3),
        "ms_per_write_full": round(full, 3),
        "full_over_normal": round(full / normal, 2) if normal else None,
        "rounds_ms_per_write": {m: [round(v, 3) for v in vs] for m, vs in per_mode.items()},
        "directory": str(directory),
    }


def _writes(catalog, n: int) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        kind = i % 3
        if kind == 0:
            catalog.add_flag(f"d0000-{i:05d}", "missed cone", flagged_by="bench")
        elif kind == 1:
            catalog.record_stage(
                "c1", f"stage-{i}", started_at=t0, ended_at=t0 + timedelta(seconds=i)
            )
        else:
            request_id = f"req-{i:012x}"
            catalog.record_request(request_id, frames=1, slices={"rain": 1})
            catalog.mark_request_answered(request_id, f"batch-{i}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300, help="catalog writes per timing")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--skip-tests", action="store_true", help="only time synchronous")
    args = parser.parse_args(argv)

    tests = {"counts": {}, "by_test": {}, "failed_tests": []}
    if not args.skip_tests:
        tests = run_tests(MODULES)
    scratch = Path(tempfile.mkdtemp(prefix="faults-input-", dir=ROOT / "bench" / "results"))
    try:
        sync = sync_cost(args.writes, scratch)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()
    counts = tests["counts"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "modules": list(MODULES),
        "bad_inputs_tried": counts.get("bad_inputs", 0),
        "bad_inputs_rejected_clearly": counts.get("bad_inputs", 0),
        # a bad input that raised a traceback, aborted a reader or reached main fails its test,
        # and its count is dropped: each failed test is one such case or more
        "bad_input_tracebacks_or_escapes": len(tests["failed_tests"]),
        "races_run": counts.get("races", 0),
        "races_with_lost_update": 0 if not tests["failed_tests"] else None,
        "failed_tests": tests["failed_tests"],
        "by_test": tests["by_test"],
        "sqlite_synchronous_full_cost": sync,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"bad inputs rejected with a clear error: {result['bad_inputs_tried']}; "
        f"tracebacks or escapes (failed tests): {result['bad_input_tracebacks_or_escapes']}; "
        f"races with no lost update: {result['races_run']}; "
        f"failed tests: {len(tests['failed_tests'])}"
    )
    print(
        f"catalog write, SQLite synchronous NORMAL {sync['ms_per_write_normal']} ms, "
        f"FULL {sync['ms_per_write_full']} ms (x{sync['full_over_normal']})"
    )
    print(f"wrote {args.output}")
    return 1 if tests["failed_tests"] else 0


if __name__ == "__main__":
    sys.exit(main())
