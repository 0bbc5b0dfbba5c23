"""Work that follows the change, measured on the real assets (DESIGN §2, issue 9).

    python -m bench.loop_scale [--quick] [--output PATH] [--keep]

1. `upload_seconds_by_fleet_drives`: one new drive committed on the landing branch, then the
   `fleet_upload_sensor` tick and the run it requests (its logs, frames, and the deployed
   model's predictions and signals, for that drive only), with the fleet at 350, 3,500 and
   35,000 drives (`--quick`: 35, 350, 3,500). The fleet around it is synthetic and cheap: one
   simulated drive's log copied under new drive ids (one shared image per log, so 35,000 logs
   stay small), its raw log, upload and frames table written per drive with `put_many` in bulk
   commits, and its prediction-side files (detections, embeddings, challenger, signals) copied
   byte for byte to every synthetic drive; the drives are added as dynamic partitions. Nothing
   of the synthetic fleet is read by a new drive's run, but the store's directories and the
   instance's partitions hold the whole fleet. Each size first uploads one warm-up drive (not
   counted), then times `--uploads` new drives; the figure is their median. Beside it, a
   store merge of one new file into main (what each of the run's four publishes ends with),
   which says how much of a growth is the store's.
2. `repredict_frames_per_s`: a new deployed model over the whole fleet (350 simulated drives
   of 24 frames; `--quick`: 40) as the backfill the `deployed_model_sensor` requests (its
   RunRequests with partition-range tags, `FLEETLOOP_DRIVES_PER_RUN` = half the fleet, so two
   equal runs), executed by 1 and then by 2 worker processes at one torch thread each. Each
   worker is a subprocess that imports everything (Great Expectations too), says it is ready,
   and on the start signal runs `dg.materialize` over its share of the ranges (round robin);
   the clock runs from the start signal to the last worker's end, and the start-up is
   recorded beside it. Before each backfill, two single-threaded torch processes against one
   say what parallelism the machine offers right now (other tenants share its cores).

Real embedded store (`LocalStoreResource`), real SQLite catalog and instance, real GX; the
detector is the shipped ConeNet at its initial weights (a model and a challenger). Prints a
table and writes bench/results/loop_scale.json; no goal is asserted, each is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bench.loop_world import (
    World,
    checkpoints,
    deploy,
    fleet_world,
    materialize,
    open_world,
    sensor_tick,
    synthetic_fleet,
)

RESULTS = Path(__file__).resolve().parent / "results" / "loop_scale.json"
UPLOAD_GOAL_RATIO = 1.5
SPEEDUP_GOAL = 1.7
MODEL_VERSION = "bench-v{}"


# -- 1. one new drive, by fleet size ----------------------------------------------------------
def upload_one(world: World, fleet, drive: str) -> dict:
    """Commit `drive` on landing, tick `fleet_upload_sensor`, run what it requests."""
    from entrypoints.demo.world import upload_drives
    from resources.landing import LANDING_BRANCH

    cursor = world.store.get_branch(world.repo, LANDING_BRANCH).commit_id
    upload_drives(world.store, world.repo, {drive: fleet.drive_log(drive)})
    started = time.perf_counter()
    result = sensor_tick(world, "fleet_upload_sensor", cursor)
    ticked = time.perf_counter()
    runs = [
        materialize(world, r.asset_selection, partition_key=r.partition_key, tags=r.tags)
        for r in result.run_requests
    ]
    ended = time.perf_counter()
    materialized = sorted(
        (e.asset_key.to_user_string(), e.partition)
        for run in runs
        for e in run.get_asset_materialization_events()
    )
    return {
        "drive": drive,
        "runs": len(runs),
        "success": all(r.success for r in runs),
        "materialized": materialized,
        "sensor_s": round(ticked - started, 3),
        "run_s": round(ended - ticked, 3),
        "seconds": round(ended - started, 3),
    }


def store_merge_seconds(world: World, repeat: int = 3) -> float:
    """Median seconds of what every publish ends with: merging a branch with one new file
    into main (the other steps, branch, put and commit, are timed out of it)."""
    vs, repo, times = world.store, world.repo, []
    for k in range(repeat):
        branch = f"bench-merge-probe-{k}"
        vs.create_branch(repo, branch, "main")
        vs.put(repo, branch, f"frames/drives/probe-{k}.parquet", b"probe %d" % k)
        vs.commit(repo, branch, "merge probe")
        started = time.perf_counter()
        vs.merge(repo, branch, "main", message="merge probe")
        times.append(time.perf_counter() - started)
        vs.delete_branch(repo, branch)
    return round(statistics.median(times), 3)


DRIVE_ASSET_NAMES = sorted(["fleet_logs", "fleet_predictions", "fleet_signals", "frames"])


def upload_seconds(scratch: Path, sizes: list[int], uploads: int) -> dict:
    """Every fleet size built first (a warm-up upload, then the synthetic fleet), then the
    timed uploads taking turns between the sizes (small to big, then big to small, ...), so
    the load of other tenants falls on every size alike."""
    from resources.simulation import Fleet, FleetConfig

    model = checkpoints()
    fleet = Fleet(FleetConfig(seed=0, drives=uploads + 1))
    warmup, *measured = fleet.drive_ids
    by_size: dict[int, dict] = {}
    with contextlib.ExitStack() as stack:
        worlds = {}
        for size in sizes:
            print(f"  a fleet of {size:,} drives …", flush=True)
            world = worlds[size] = stack.enter_context(open_world(scratch / f"upload-{size}"))
            deploy(world, MODEL_VERSION.format(1), *model)
            warm = upload_one(world, fleet, warmup)
            assert warm["success"], warm
            built_s = synthetic_fleet(world, size - 1, warmup, fleet.drive_log(warmup))
            by_size[size] = {
                "fleet_drives": size,
                "synthetic_fleet_s": round(built_s, 1),
                "warmup_s": warm["seconds"],
                "uploads": [],
            }
        for turn, drive in enumerate(measured):
            for size in sizes if turn % 2 == 0 else sizes[::-1]:
                timed = upload_one(worlds[size], fleet, drive)
                wanted = [(asset, drive) for asset in DRIVE_ASSET_NAMES]
                assert timed["success"] and timed["materialized"] == wanted, timed
                by_size[size]["uploads"].append(timed)
                print(
                    f"    {drive} into {size:,}: sensor {timed['sensor_s']} s, "
                    f"run {timed['run_s']} s",
                    flush=True,
                )
        for size, world in worlds.items():
            by_size[size]["store_merge_s"] = store_merge_seconds(world)
    for result in by_size.values():
        for name, key in (
            ("median", "seconds"),
            ("median_run_s", "run_s"),
            ("median_sensor_s", "sensor_s"),
        ):
            result[name] = round(statistics.median(t[key] for t in result["uploads"]), 3)
    small, big = by_size[sizes[0]]["median"], by_size[sizes[-1]]["median"]
    return {
        "seconds": {str(s): r["median"] for s, r in by_size.items()},
        "ratio_biggest_over_smallest": round(big / small, 3),
        "goal_ratio": UPLOAD_GOAL_RATIO,
        "by_size": {str(s): r for s, r in by_size.items()},
    }


# -- 2. a new deployed model over the fleet ---------------------------------------------------
def backfill_requests(root: Path, version: str, model: tuple[bytes, bytes], cursor) -> list:
    """Deploy `version`; the `deployed_model_sensor` tick's run requests (their tags)."""
    with open_world(root) as world:
        deploy(world, version, *model)
        result = sensor_tick(world, "deployed_model_sensor", cursor)
        for event in result.asset_events or []:
            world.instance.report_runless_asset_event(event)
    return [dict(r.tags) for r in result.run_requests]


def run_backfill(root: Path, requests: list[dict], workers: int) -> dict:
    """The backfill's runs shared round robin by `workers` subprocesses, timed from the start
    signal (every worker started: imports, Great Expectations loaded) to the last one's end;
    the start-up is recorded beside it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = []
    spawned = time.perf_counter()
    for k in range(workers):
        spec = root / f"worker-{k}.json"
        spec.write_text(json.dumps({"root": str(root), "requests": requests[k::workers]}))
        log = (root / f"worker-{k}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.loop_scale", "--worker", str(spec)],
                cwd=Path(__file__).resolve().parents[1],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        )
        log.close()
    try:
        for proc in procs:
            read_line(proc, lambda line: line == "ready", root)
        started = time.perf_counter()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [
            json.loads(read_line(proc, lambda line: line.startswith('{"runs"'), root))
            for proc in procs
        ]
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            if proc.poll() is None:
                proc.kill()
    runs = [run for out in outputs for run in out["runs"]]
    frames = sum(run["frames"] for run in runs)
    return {
        "workers": workers,
        "runs": len(runs),
        "success": all(run["success"] for run in runs),
        "frames": frames,
        "seconds": round(seconds, 2),
        "frames_per_s": round(frames / seconds, 1),
        "startup_s": round(started - spawned, 2),
        "frames_per_s_with_startup": round(frames / (seconds + started - spawned), 1),
        "worker_seconds": [round(sum(r["seconds"] for r in out["runs"]), 2) for out in outputs],
    }


def read_line(proc: subprocess.Popen, wanted, root: Path) -> str:
    """The first line of the worker's stdout that is `wanted` (libraries may print before)."""
    for line in proc.stdout:
        if wanted(line.strip()):
            return line.strip()
    raise RuntimeError(f"a backfill worker ended early ({proc.wait()}): see {root}/worker-*.log")


def worker(spec_path: Path) -> int:
    """One backfill worker: its runs, one after another, at one torch thread."""
    import torch

    from quality.gx_runner import gx_module

    torch.set_num_threads(1)
    gx_module()  # its first import costs seconds: start-up, not work
    spec = json.loads(spec_path.read_text())
    with open_world(Path(spec["root"])) as world:
        keys = ["fleet_predictions", "fleet_signals"]
        print("ready", flush=True)
        sys.stdin.readline()
        runs = []
        for tags in spec["requests"]:
            started = time.perf_counter()
            result = materialize(world, keys, tags=tags)
            # every partition's materialization carries the run's frame count
            frames = max(
                (
                    e.materialization.metadata["frames"].value
                    for e in result.get_asset_materialization_events()
                    if e.asset_key.to_user_string() == "fleet_predictions"
                ),
                default=0,
            )
            runs.append(
                {
                    "range": [tags.get(RANGE_START), tags.get(RANGE_END)],
                    "success": result.success,
                    "frames": frames,
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
    print(json.dumps({"runs": runs}), flush=True)
    return 0


RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


CPU_PROBE = """
import time, torch
torch.set_num_threads(1)
x = torch.randn(256, 256)
started = time.perf_counter()
for _ in range(1500):
    x = torch.tanh(x @ x)
print(time.perf_counter() - started)
"""


def cpu_parallel_speedup() -> float:
    """What this machine gives two single-threaded torch processes right now, against one:
    the ceiling of the backfill's speedup (other tenants share the cores)."""

    def wall(processes: int) -> float:
        started = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-c", CPU_PROBE], stdout=subprocess.DEVNULL)
            for _ in range(processes)
        ]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - started

    one, two = wall(1), wall(2)
    return round(2 * one / two, 2)


def repredict(scratch: Path, drives: int) -> dict:
    root = scratch / "repredict"
    print(f"  a fleet of {drives} drives …", flush=True)
    frames = fleet_world(root, drives)
    model = checkpoints()
    by_workers, cursor = {}, None
    for generation, workers in enumerate((1, 2), start=1):
        version = MODEL_VERSION.format(generation)
        requests = backfill_requests(root, version, model, cursor)
        cursor = version
        print(f"  {version}: {len(requests)} runs on {workers} worker(s) …", flush=True)
        ceiling = cpu_parallel_speedup()
        by_workers[workers] = run_backfill(root, requests, workers)
        by_workers[workers]["cpu_parallel_speedup_before"] = ceiling
        assert by_workers[workers]["success"], by_workers[workers]
        assert by_workers[workers]["frames"] == frames, (by_workers[workers], frames)
        print(f"    {by_workers[workers]['frames_per_s']} frames/s", flush=True)
    speedup = by_workers[2]["frames_per_s"] / by_workers[1]["frames_per_s"]
    return {
        "drives": drives,
        "frames": frames,
        "drives_per_run": int(os.environ["FLEETLOOP_DRIVES_PER_RUN"]),
        "frames_per_s": {str(w): r["frames_per_s"] for w, r in by_workers.items()},
        "speedup_2_over_1": round(speedup, 2),
        # two single-threaded torch processes against one, measured before each backfill
        "machine_speedup_2_over_1": by_workers[2]["cpu_parallel_speedup_before"],
        "goal_speedup": SPEEDUP_GOAL,
        "by_workers": {str(w): r for w, r in by_workers.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loop_scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller fleets (about 3 minutes)")
    parser.add_argument("--sizes", type=int, nargs="+", help="fleet sizes for the upload figure")
    parser.add_argument("--uploads", type=int, help="timed new drives per fleet size")
    parser.add_argument("--repredict-drives", type=int, help="fleet size for the backfill")
    parser.add_argument("--drives-per-run", type=int, help="FLEETLOOP_DRIVES_PER_RUN")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the workers'
    warnings.filterwarnings("ignore")  # dagster's beta and resource notices, once per process
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    if args.worker:
        return worker(args.worker)
    sizes = args.sizes or ([35, 350, 3_500] if args.quick else [350, 3_500, 35_000])
    uploads = args.uploads or (1 if args.quick else 3)
    drives = args.repredict_drives or (40 if args.quick else 350)
    # two runs of equal size: the split between two workers is even (the default of 200
    # would cut 350 drives into 200 + 150) and each run's fixed cost is paid twice, not ten times
    per_run = args.drives_per_run or drives // 2
    os.environ["FLEETLOOP_DRIVES_PER_RUN"] = str(per_run)  # read when assets is imported

    scratch = Path(tempfile.mkdtemp(prefix="fleetloop-bench-scale-"))
    os.environ["FLEETLOOP_HOME"] = str(scratch)
    started = time.perf_counter()
    results: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
    }
    try:
        print(f"one new drive, fleets of {sizes} drives ({scratch}) …", flush=True)
        results["upload_seconds_by_fleet_drives"] = upload_seconds(scratch, sizes, uploads)
        print("a new deployed model re-predicting the fleet …", flush=True)
        results["repredict_frames_per_s"] = repredict(scratch, drives)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output} in {results['elapsed_s']} s")
    return 0


def print_table(results: dict) -> None:
    up, re = results["upload_seconds_by_fleet_drives"], results["repredict_frames_per_s"]
    print()
    print(f"{'metric':<52}{'value':>12}{'goal':>10}")
    for size, r in up["by_size"].items():
        label = f"new drive → on main, fleet {int(size):,} (s)"
        print(f"{label:<52}{r['median']:>12}")
        detail = "  of which sensor tick / run (s)"
        print(f"{detail:<52}{r['median_sensor_s']:>5} / {r['median_run_s']:<5}")
        detail = "  one store merge into main (s)"
        print(f"{detail:<52}{r['store_merge_s']:>12}")
    ratio = f"ratio {list(up['seconds'])[-1]} / {list(up['seconds'])[0]}"
    print(f"{ratio:<52}{up['ratio_biggest_over_smallest']:>12}{'<= 1.5':>10}")
    for workers, r in re["by_workers"].items():
        label = f"re-predict {re['frames']:,} frames, {workers} worker(s) (frames/s)"
        print(f"{label:<52}{r['frames_per_s']:>12}")
    print(f"{'speedup 2 / 1 workers':<52}{re['speedup_2_over_1']:>12}{'>= 1.7':>10}")
    label = "  what the machine gave 2 torch processes / 1"
    print(f"{label:<52}{re['machine_speedup_2_over_1']:>12}")


if __name__ == "__main__":
    raise SystemExit(main())
