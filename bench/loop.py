"""`make bench-loop`: the loop's own speed, measured, not assumed.

    python -m bench.loop [--home DIR] [--seed N] [--rows N] [--quick]

1. The demo at its full size (or an existing demo home with `--home`): the time from a label
   batch's landing commit to the gate's decision, per cycle, as the daemon drives it.
2. No-op automation ticks on that settled instance: each must request nothing; p50 and max.
3. A slice query (rainy night frames, ranked by the production model's uncertainty, top k)
   over 10,000,000 frame rows: polars (the product's code path) against the same in pandas,
   best of 3 each, in the same process.

Prints a table and writes bench/results/loop.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

RESULTS = Path(__file__).resolve().parent / "results" / "loop.json"
NOOP_TICKS = 10
NOOP_GOAL_S = 2.0


def synthetic_fleet(rows: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frames, predictions) at any size: the columns a slice query touches."""
    rng = np.random.default_rng(seed)
    frame_ids = pl.int_range(rows, eager=True).cast(pl.String).str.zfill(9)
    frames = pl.DataFrame(
        {
            "frame_id": frame_ids,
            "weather": rng.choice(["clear", "cloudy", "rain"], rows, p=[0.65, 0.25, 0.10]),
            "time_of_day": rng.choice(["day", "dusk", "night"], rows, p=[0.75, 0.10, 0.15]),
        }
    )
    n = rows // 2  # about one detection per two frames
    predictions = pl.DataFrame(
        {
            "frame_id": frame_ids.gather(rng.integers(0, rows, n)),
            "x0": np.zeros(n, np.float32),
            "y0": np.zeros(n, np.float32),
            "x1": np.ones(n, np.float32),
            "y1": np.ones(n, np.float32),
            "cls": rng.choice(["orange_cone", "green_cone"], n, p=[0.9, 0.1]),
            "confidence": rng.random(n, dtype=np.float32),
        }
    )
    return frames, predictions


def polars_query(frames: pl.DataFrame, predictions: pl.DataFrame, k: int) -> list[str]:
    """The product's path: a metadata slice ranked by a model signal (assets.slices)."""
    from assets.slices.declarations import MetadataQuery, SliceSpec
    from assets.slices.selection import select

    spec = SliceSpec(
        "rainy_nights",
        "rainy night frames, most uncertain first",
        MetadataQuery((("weather", ("rain",)), ("time_of_day", ("night", "dusk"))), "uncertainty"),
        target_size=k,
    )
    return select(spec, frames, predictions)["frame_id"].head(k).to_list()


def pandas_query(frames: pd.DataFrame, predictions: pd.DataFrame, k: int) -> list[str]:
    """The same query written the usual pandas way."""
    chosen = frames[
        (frames["weather"] == "rain") & (frames["time_of_day"].isin(["night", "dusk"]))
    ][["frame_id"]]
    band = predictions[(predictions["confidence"] >= 0.15) & (predictions["confidence"] < 0.6)]
    c = band["confidence"].astype("float64").clip(1e-6, 1 - 1e-6)
    entropy = -(c * np.log2(c) + (1 - c) * np.log2(1 - c))
    scores = entropy.groupby(band["frame_id"]).sum().astype("float32").rename("score").reset_index()
    ranked = chosen.merge(scores, on="frame_id", how="left").fillna({"score": 0.0})
    ranked = ranked.sort_values(["score", "frame_id"], ascending=[False, True])
    return ranked["frame_id"].head(k).tolist()


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def slice_query(rows: int, k: int = 1000) -> dict:
    frames, predictions = synthetic_fleet(rows)
    pframes, ppredictions = frames.to_pandas(), predictions.to_pandas()
    polars_s, polars_top = best_of(lambda: polars_query(frames, predictions, k))
    pandas_s, pandas_top = best_of(lambda: pandas_query(pframes, ppredictions, k))
    return {
        "rows": rows,
        "k": k,
        "polars_s": round(polars_s, 3),
        "pandas_s": round(pandas_s, 3),
        "pandas_over_polars": round(pandas_s / polars_s, 2),
        "same_top_k": polars_top == pandas_top,
    }


def noop_ticks(home: Path) -> dict:
    """Automation ticks on a settled demo instance: they must request nothing."""
    os.environ["FLEETLOOP_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    import dagster as dg

    from assets.definitions import build_definitions

    defs = build_definitions()
    keys = list(defs.resolve_asset_graph().get_all_asset_keys())
    seconds, requested = [], []
    with dg.DagsterInstance.get() as instance:
        cursor = None
        for tick in range(NOOP_TICKS + 1):
            started = time.perf_counter()
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            elapsed = time.perf_counter() - started
            cursor = result.cursor
            asked = sorted(k.to_user_string() for k in keys if result.get_requested_partitions(k))
            if tick:  # the first evaluation has no cursor to compare against: warm-up
                seconds.append(elapsed)
                requested += asked
    return {
        "ticks": NOOP_TICKS,
        "p50_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "requested": requested,
        "goal_s": NOOP_GOAL_S,
        "passed": not requested and max(seconds) <= NOOP_GOAL_S,
    }


def run_story(home: Path, seed: int) -> dict:
    from entrypoints.demo.runner import DemoConfig, run_demo

    return run_demo(DemoConfig(seed=seed), home, say=lambda line: print(f"  {line}", flush=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loop", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--home", type=Path, help="reuse this demo home instead of running one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1,000,000 rows, reuse --home")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}}

    rows = 1_000_000 if args.quick else args.rows
    print(f"slice query over {rows:,} frame rows: polars vs pandas …", flush=True)
    results["slice_query"] = slice_query(rows)

    home = args.home.resolve() if args.home else None  # DAGSTER_HOME must be absolute
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="fleetloop-bench-loop-"))
        print(f"the demo story at full size in {home} …", flush=True)
        summary = run_story(home, args.seed)
    else:
        summary = json.loads((home / "demo.json").read_text())
    results["label_commit_to_decision_s"] = [c["label_to_decision_s"] for c in summary["cycles"]]
    results["overhead_share"] = [c.get("overhead_share") for c in summary["cycles"]]
    results["demo_total_s"] = summary["total_seconds"]
    print("no-op automation ticks on the settled instance …", flush=True)
    results["noop_tick"] = noop_ticks(home)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)

    q, tick = results["slice_query"], results["noop_tick"]
    print()
    print(f"{'metric':<44}{'value':>12}{'goal':>12}")
    print(f"{'no-op tick p50 / max (s)':<44}{tick['p50_s']:>6} / {tick['max_s']:<5}{'<= 2':>11}")
    print(f"{'no-op tick requests':<44}{len(tick['requested']):>12}{'0':>12}")
    for i, seconds in enumerate(results["label_commit_to_decision_s"], 1):
        print(f"{f'label commit → gate decision, cycle {i} (s)':<44}{seconds:>12}")
    for i, share in enumerate(results["overhead_share"], 1):
        print(f"{f'overhead share, cycle {i}':<44}{share!s:>12}{'<= 0.15':>12}")
    rows_label = f"{q['rows']:,} rows"
    print(f"{'slice query polars (' + rows_label + ', s)':<44}{q['polars_s']:>12}")
    print(f"{'slice query pandas (' + rows_label + ', s)':<44}{q['pandas_s']:>12}")
    print(f"{'pandas / polars':<44}{q['pandas_over_polars']:>12}")
    print(f"{'same top-k frames':<44}{str(q['same_top_k']):>12}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output} in {results['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
