"""What the demo reports, read back from where the loop recorded it: step times and run
origins from the Dagster instance, decisions and reports from the catalog and the store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

# Which stage of the story a step belongs to.
STAGES = {
    "fleet_logs": "ingest",
    "frames": "ingest",
    "fleet_predictions": "curation",
    "fleet_signals": "mining",
    "drift_report": "mining",
    "labeling_queue": "curation",
    "label_sets": "label_validation",
    "training_set": "training",
    "candidate_model": "training",
    "evaluation_report": "evaluation",
    "production_model": "promotion",
}
# Tags Dagster puts on runs that no human launched.
AUTOMATED_TAGS = ("dagster/sensor_name", "dagster/schedule_name", "dagster/backfill")


@dataclass(frozen=True)
class Step:
    run_id: str
    key: str
    started: datetime
    ended: datetime

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()

    @property
    def stage(self) -> str:
        return "curation" if self.key.endswith("_slice") else STAGES.get(self.key, "other")


def steps(instance: dg.DagsterInstance) -> list[Step]:
    wanted = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    found: list[Step] = []
    for run in instance.get_runs():
        starts: dict[str, datetime] = {}
        for entry in instance.all_logs(run.run_id, of_type=wanted):
            key = entry.step_key or ""
            at = datetime.fromtimestamp(entry.timestamp)
            if entry.dagster_event_type == dg.DagsterEventType.STEP_START:
                starts[key] = at
            elif key in starts:
                found.append(Step(run.run_id, key, starts.pop(key), at))
    return sorted(found, key=lambda s: s.started)


def human_runs(instance: dg.DagsterInstance) -> list[str]:
    """Runs nobody's sensor, schedule or automation launched: someone clicked or called."""
    return [
        run.run_id
        for run in instance.get_runs()
        if not any(tag in run.tags for tag in AUTOMATED_TAGS)
    ]


def stage_seconds(all_steps: list[Step]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for step in all_steps:
        totals[step.stage] += step.seconds
    return {stage: round(seconds, 1) for stage, seconds in sorted(totals.items())}


def baseline_vs_production(decisions, read_report) -> tuple[dict, bool]:
    """(slice → {baseline, promoted} → precision/recall/ap, whether a model replaced the
    baseline). The baseline is the first promoted model; "promoted" the production model at
    the end. Every report evaluates on the same held-out frames, so the baseline's numbers
    come from the report of the first candidate judged against it, the final model's from the
    report that promoted it. When nothing replaced the baseline, "promoted" shows the last
    refused candidate."""
    approved = [d for d in decisions if d.approved]
    if not approved:
        return slice_metrics(read_report(decisions[-1])), False
    baseline, final = approved[0], approved[-1]
    if final is baseline:
        later = [d for d in decisions if d.against_version == baseline.candidate_version]
        return (slice_metrics(read_report(later[-1])) if later else {}), False
    judged = next(d for d in decisions if d.against_version == baseline.candidate_version)
    before = {s["slice"]: s["production"] for s in read_report(judged)["slices"]}
    after = {s["slice"]: s["candidate"] for s in read_report(final)["slices"]}
    return {n: {"baseline": before.get(n), "promoted": m} for n, m in after.items()}, True


def slice_sources(specs) -> dict[str, str]:
    """slice name → how it finds frames: "random", "metadata:<columns>", "curated:<signal>"
    for a hand-declared slice ranked by a model signal, "signal:<name>" for what the
    failure-finding signals mine (model signals, flags, similarity, label review)."""
    out = {}
    for spec in specs:
        sel = spec.selection
        kind = sel.kind
        if kind == "random":
            out[spec.name] = "random"
        elif kind == "metadata":
            out[spec.name] = "metadata:" + ",".join(c for c, _ in sel.equals)
        elif spec.role not in ("signal", "review"):
            out[spec.name] = f"curated:{getattr(sel, 'signal', kind)}"
        elif kind == "model_signal":
            out[spec.name] = f"signal:{sel.signal}"
        elif kind == "similarity":
            out[spec.name] = "signal:similarity_to_flags" if sel.from_flags else "signal:similarity"
        else:
            out[spec.name] = f"signal:{kind}"
    return out


def slice_metrics(report: dict) -> dict[str, dict[str, dict[str, float]]]:
    """slice → {baseline, promoted} → precision/recall/ap, from the final evaluation report
    (production then was the baseline; the candidate is what was promoted or refused)."""
    out = {}
    for s in report["slices"]:
        out[s["slice"]] = {"baseline": s["production"], "promoted": s["candidate"]}
    return out


def slice_table(metrics: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        f"{'slice':<14}{'AP base':>9}{'AP new':>9}{'Δ AP':>8}{'P base':>8}{'P new':>8}"
        f"{'R base':>8}{'R new':>8}"
    ]
    for name, pair in metrics.items():
        b, p = pair["baseline"] or {}, pair["promoted"]
        delta = p["ap"] - b.get("ap", 0.0)
        lines.append(
            f"{name:<14}{b.get('ap', 0.0):>9.3f}{p['ap']:>9.3f}{delta:>+8.3f}"
            f"{b.get('precision', 0.0):>8.3f}{p['precision']:>8.3f}"
            f"{b.get('recall', 0.0):>8.3f}{p['recall']:>8.3f}"
        )
    return "\n".join(lines)
