"""The whole ML story in plain functions, no Dagster: does mining rain and green cones fix them?

Per seed: simulate a fleet; label a random held-out eval sample and a random baseline sample;
train the baseline; run it over the rest of the fleet; mine rainy frames ranked by its
uncertainty and frames ranked by its green-cone score (no ground truth used to choose);
label them; train the candidate on baseline + mined; evaluate both per slice.

    python -m bench.ml_story --seeds 1 2 3 4 5

Prints the per-slice table and targets, writes `bench/results/ml_story.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see resources/detection/__init__.py
import torch  # noqa: E402

from assets.evaluation.eval_slices import EVAL_SLICES, evaluate
from assets.evaluation.metrics import confusion_matrix
from assets.slices.signals import green_cone_score, uncertainty
from resources.detection import decode_images, make_detector, predictions_table
from resources.detection.tables import targets_from_boxes
from resources.simulation import Fleet, FleetConfig, SimulatedLabelers
from resources.tables import frame_id

RESULTS = Path(__file__).parent / "results" / "ml_story.json"
TARGET_SLICES = ("green_cones", "rain")
MIN_GAIN, MAX_DROP = 0.15, 0.02


@dataclass(frozen=True)
class Story:
    drives: int = 350
    frames_per_drive: int = 24
    baseline: int = 600
    eval: int = 2000
    rain: int = 300
    green: int = 300
    epochs: int | None = None  # None: the detector's default
    baseline_epochs: int | None = None
    min_confidence: float = 0.05


def run_seed(seed: int, story: Story, *, keep: bool = False) -> dict:
    """One seed of the story; `keep` adds the tables behind the numbers under `tables`."""
    # wall clock and this process's CPU time (all threads) per stage: on shared cores the
    # wall clock says how busy the machine was, CPU time what the stage itself costs
    times: dict[str, float] = {}
    cpu_times: dict[str, float] = {}
    clock, cpu = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal clock, cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        times[name] = round(now - clock, 2)
        cpu_times[name] = round(now_cpu - cpu, 2)
        clock, cpu = now, now_cpu

    fleet = Fleet(
        FleetConfig(seed=seed, drives=story.drives, frames_per_drive=story.frames_per_drive)
    )
    logs = pl.concat([fleet.drive_log(d) for d in fleet.drive_ids])
    lap("render_fleet")
    frames = logs.drop("image").with_columns(
        pl.concat_str(
            [pl.col("drive_id"), pl.lit("-"), pl.col("frame_index").cast(pl.String).str.zfill(5)]
        ).alias("frame_id")
    )
    assert frames["frame_id"][0] == frame_id(frames["drive_id"][0], int(frames["frame_index"][0]))
    images = decode_images(logs["image"])
    ids = frames["frame_id"].to_list()
    row = {f: i for i, f in enumerate(ids)}
    lap("decode_images")

    order = np.random.default_rng(seed).permutation(len(ids))
    eval_ids = [ids[i] for i in order[: story.eval]]
    base_ids = [ids[i] for i in order[story.eval : story.eval + story.baseline]]
    labelers = SimulatedLabelers(fleet, seed=seed)
    eval_labels = labelers.label(eval_ids, "eval").boxes
    base_labels = labelers.label(base_ids, "baseline").boxes
    lap("label_random")

    classes = ("orange_cone", "green_cone")

    def fit(train_ids: list[str], labels: pl.DataFrame, epochs: int | None):
        det = make_detector("cone_net", **({"epochs": epochs} if epochs else {}))
        x = images[[row[f] for f in train_ids]]
        summary = det.fit(x, targets_from_boxes(train_ids, labels, classes), seed=seed)
        return det, summary

    baseline, base_fit = fit(base_ids, base_labels, story.baseline_epochs or story.epochs)
    lap("train_baseline")

    labeled = set(eval_ids) | set(base_ids)
    pool = [f for f in ids if f not in labeled]
    pool_pred = predictions_table(
        pool,
        baseline.predict(images[[row[f] for f in pool]], min_confidence=story.min_confidence),
        classes,
    )
    lap("predict_fleet")
    pool_frames = frames.filter(pl.col("frame_id").is_in(pool))
    rainy = pool_frames.filter(pl.col("weather") == "rain")["frame_id"].to_list()
    rain_rank = uncertainty(pool_pred, rainy).sort(["score", "frame_id"], descending=[True, False])
    rain_ids = rain_rank["frame_id"].head(story.rain).to_list()
    rest = [f for f in pool if f not in set(rain_ids)]
    green_rank = green_cone_score(pool_pred, rest).sort(
        ["score", "frame_id"], descending=[True, False]
    )
    green_ids = green_rank["frame_id"].head(story.green).to_list()
    mined = labelers.label(rain_ids + green_ids, "mined").boxes
    lap("mine_and_label")

    train_ids = base_ids + rain_ids + green_ids
    candidate, cand_fit = fit(train_ids, pl.concat([base_labels, mined]), story.epochs)
    lap("train_candidate")

    eval_frames = frames.filter(pl.col("frame_id").is_in(eval_ids))
    eval_images = images[[row[f] for f in eval_ids]]
    reports, confusions, preds = {}, {}, {}
    trees = fleet.confusers(eval_ids)
    for name, det in (("baseline", baseline), ("candidate", candidate)):
        pred = predictions_table(
            eval_ids, det.predict(eval_images, min_confidence=story.min_confidence), classes
        )
        preds[name] = pred
        reports[name] = evaluate(eval_frames, eval_labels, pred, EVAL_SLICES)
        confusions[name] = confusion_matrix(eval_labels, pred, eval_ids, confusers=trees)
    lap("evaluate")

    facts = fleet.frame_facts(rain_ids + green_ids + base_ids)
    mined_facts = {
        "rain_slice_with_cones": _share(
            facts, rain_ids, pl.col("orange_cones") + pl.col("green_cones") > 0
        ),
        "green_slice_with_green_cones": _share(facts, green_ids, pl.col("green_cones") > 0),
        "green_slice_with_trees": _share(facts, green_ids, pl.col("confusers") > 0),
        "baseline_green_cone_frames": _share(facts, base_ids, pl.col("green_cones") > 0),
        "baseline_rain_frames": _share(facts, base_ids, pl.col("weather") == "rain"),
        "green_boxes_baseline": int(base_labels.filter(pl.col("cls") == "green_cone").height),
        "green_boxes_mined": int(mined.filter(pl.col("cls") == "green_cone").height),
    }
    table = reports["baseline"].join(reports["candidate"], on="slice", suffix="_candidate")
    slices = []
    for r in table.iter_rows(named=True):
        slices.append(
            {
                "slice": r["slice"],
                "frames": r["frames"],
                "boxes": r["boxes"],
                **{
                    f"{m}_{who}": r[m + ("_candidate" if who == "candidate" else "")]
                    for who in ("baseline", "candidate")
                    for m in ("precision", "recall", "ap")
                },
                "ap_delta": r["ap_candidate"] - r["ap"],
            }
        )
    checks = {
        **{f"{s}_ap_up_{MIN_GAIN}": _delta(slices, s) >= MIN_GAIN for s in TARGET_SLICES},
        f"no_slice_down_{MAX_DROP}": all(s["ap_delta"] >= -MAX_DROP for s in slices),
    }
    tables = {
        "eval_frames": eval_frames,
        "eval_labels": eval_labels,
        "predictions": preds,
        "pool_predictions": pool_pred,
        "mined_ids": {"rain": rain_ids, "green": green_ids},
        "base_ids": base_ids,
    }
    return ({"tables": tables} if keep else {}) | {
        "seed": seed,
        "slices": slices,
        "checks": checks,
        "passed": all(checks.values()),
        "seconds": times,
        "cpu_seconds": cpu_times,
        "fit": {"baseline": base_fit, "candidate": cand_fit},
        "mining": mined_facts,
        "sizes": {
            "fleet_frames": len(ids),
            "eval": len(eval_ids),
            "baseline": len(base_ids),
            "rain": len(rain_ids),
            "green": len(green_ids),
            "rain_frames_in_fleet": int((frames["weather"] == "rain").sum()),
        },
        "confusion": {k: v.to_dicts() for k, v in confusions.items()},
    }


def _share(facts: pl.DataFrame, ids: list[str], cond: pl.Expr) -> float:
    if not ids:
        return float("nan")
    sub = facts.filter(pl.col("frame_id").is_in(ids))
    return round(float(sub.select(cond.cast(pl.Float64).mean()).item()), 3)


def _delta(slices: list[dict], name: str) -> float:
    return next(s["ap_delta"] for s in slices if s["slice"] == name)


def print_seed(result: dict) -> None:
    print(f"\nseed {result['seed']}  sizes {result['sizes']}")
    print(
        f"  {'slice':<13}{'frames':>7}{'boxes':>7}   {'P base→cand':>13}   {'R base→cand':>13}   "
        f"{'AP base→cand':>14}{'ΔAP':>8}"
    )
    for s in result["slices"]:
        print(
            f"  {s['slice']:<13}{s['frames']:>7}{s['boxes']:>7}   "
            f"{_f(s['precision_baseline'])}→{_f(s['precision_candidate'])}   "
            f"{_f(s['recall_baseline'])}→{_f(s['recall_candidate'])}   "
            f"{_f(s['ap_baseline'])} → {_f(s['ap_candidate'])}{s['ap_delta']:>+8.3f}"
        )
    print(f"  checks {result['checks']}  → {'PASS' if result['passed'] else 'FAIL'}")
    print(f"  seconds {result['seconds']}")
    print(f"  cpu seconds {result['cpu_seconds']}")
    fits = {k: {m: round(v, 2) for m, v in f.items()} for k, f in result["fit"].items()}
    print(f"  fit {fits}")
    print(f"  mining {result['mining']}")


def _f(x: float) -> str:
    return "  nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--threads", type=int, default=2)
    for field, default in asdict(Story()).items():
        kind = float if isinstance(default, float) else int
        parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=default)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    story = Story(**{k: getattr(args, k) for k in asdict(Story())})
    results = []
    for seed in args.seeds:
        result = run_seed(seed, story)
        print_seed(result)
        results.append(result)
    print("\nsummary: seed  ΔAP green_cones  ΔAP rain  worst ΔAP  pass")
    for r in results:
        worst = min(s["ap_delta"] for s in r["slices"])
        print(
            f"         {r['seed']:>4}  {_delta(r['slices'], 'green_cones'):>+14.3f}"
            f"  {_delta(r['slices'], 'rain'):>+8.3f}  {worst:>+9.3f}  {r['passed']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "story": asdict(story),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "torch": torch.__version__,
                    "threads": args.threads,
                },
                "results": results,
                "all_passed": all(r["passed"] for r in results),
            },
            indent=2,
            default=float,
        )
    )
    print(f"wrote {args.out}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
