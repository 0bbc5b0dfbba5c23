"""`fleetloop demo`: the story of DESIGN §1 on a fresh, persistent Dagster instance, headless.

The Dagster daemon runs the sensors and the automation; this driver only plays the outside
world (the fleet uploads its drives, the labelers answer the requests that reach their inbox,
an operator flags wrong predictions of each new production model) and waits until the loop
has decided on three candidates: the baseline, the curated one (rain and green-cone slices
plus the first signals) and one driven by the failure-finding signals alone. It never
launches a run; after the last cycle the labelers stop answering.
At the end it reads back what the loop recorded (decisions and reports from the catalog and
the store, step times and run origins from the instance), prints the per-slice table and
writes `$FLEETLOOP_HOME/demo.json`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from entrypoints.demo.instance import (
    POSTGRES_ENV,
    demo_environment,
    prepare_instance,
    running_daemon,
)
from entrypoints.homelock import daemon_slot, resetting, using

AUTOMATION_SENSOR = "fleetloop_automation"
MODEL_NAME = "cone_detector"


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 0
    drives: int = 350
    frames_per_drive: int = 24
    epochs: int = 15  # the model's default is 20; the demo trains 3 models in 5 minutes
    slice_scale: float = 1.0  # scales every slice's target size (smaller fleets)
    label_noise: float = 0.02  # labelers' miss rate (wrong class: half of it)
    cycles: int = 3  # promotion decisions to wait for: baseline, curated, signals
    operator_reviews: int = 300  # frames the operator looks at per production model
    idle_s: float = 30.0  # stop early when the loop did nothing for this long
    timeout_s: float = 1500.0
    fresh: bool = True


# What a fresh demo deletes from its home.
RESET = (
    "store",
    "dagster",
    "labelers",
    "catalog.db",
    "catalog.db-wal",
    "catalog.db-shm",
    "demo.json",
    "daemon.log",
)


class DemoFailed(RuntimeError):
    pass


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Demo:
    """`stack`: the variables of a production stack (`deploy.production`) every process of the
    demo runs with; empty, the embedded store, SQLite catalog and SQLite instance."""

    def __init__(
        self,
        config: DemoConfig,
        home: Path,
        say: Callable[[str], None],
        stack: dict[str, str] | None = None,
    ):
        self.config, self.home, self._say = config, home, say
        self.stack = dict(stack or {})
        self._started = time.monotonic()
        self.outside: dict[str, float] = {"simulate_fleet": 0.0, "upload": 0.0, "labeling": 0.0}
        self.answers: list[tuple[float, object]] = []  # (wall clock, Answer) per label batch
        self.reviewed: set[str] = set()  # production model versions the operator looked at

    def say(self, line: str) -> None:
        self._say(f"[{time.monotonic() - self._started:6.1f} s] {line}")

    # -- set-up ---------------------------------------------------------------------------
    def prepare(self) -> dict[str, str]:
        if self.config.fresh and self.home.exists():
            with resetting(self.home):
                self._reset()
        self.home.mkdir(parents=True, exist_ok=True)
        prepare_instance(self.home, self.stack.get(POSTGRES_ENV))
        extra = {**self.stack, "FLEETLOOP_SLICE_SCALE": str(self.config.slice_scale)}
        if self.config.epochs:
            extra["FLEETLOOP_EPOCHS"] = str(self.config.epochs)
        return demo_environment(self.home, extra)

    def _reset(self) -> None:
        """Delete the previous demo's state (the lock files stay)."""
        for part in RESET:
            target = self.home / part
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    # -- the story ------------------------------------------------------------------------
    def run(self) -> dict:
        # One daemon per home, and no reset under a live UI or review page (entrypoints.homelock).
        with daemon_slot(self.home):
            env = self.prepare()
            with using(self.home):
                return self._story(env)

    def _story(self, env: dict[str, str]) -> dict:
        import os

        os.environ.update(env)  # this process reads the same store, catalog and instance
        import dagster as dg

        from assets.mining.signals import SimulatedOperator
        from entrypoints.demo.world import answer_requests, upload_drives
        from resources.catalog import Catalog
        from resources.simulation import Fleet, FleetConfig, LabelNoise, SimulatedLabelers
        from resources.store_resource import store_resource_from_env

        cfg = self.config
        started = time.monotonic()
        fleet = Fleet(
            FleetConfig(seed=cfg.seed, drives=cfg.drives, frames_per_drive=cfg.frames_per_drive)
        )
        noise = LabelNoise(miss_rate=cfg.label_noise, wrong_class_rate=cfg.label_noise / 2)
        labelers = SimulatedLabelers(fleet, noise, seed=cfg.seed)
        operator = SimulatedOperator(fleet, seed=cfg.seed)
        store_resource = store_resource_from_env()
        store, repo = store_resource.ensure_repository(), store_resource.repository
        catalog = Catalog()
        inbox = self.home / "labelers" / "inbox"
        with running_daemon(self.home, env) as daemon, dg.DagsterInstance.get() as instance:
            self.say(f"dagster daemon started (pid {daemon.pid}); instance {env['DAGSTER_HOME']}")
            t = time.monotonic()  # the fleet drives while the daemon boots
            logs = {d: fleet.drive_log(d) for d in fleet.drive_ids}
            self.outside["simulate_fleet"] = time.monotonic() - t
            import resources.detection  # noqa: F401  torch loads now, not in the first review

            self._wait_for_automation(instance, daemon)
            self.say("automation sensor ticking; the fleet uploads")
            t = time.monotonic()
            commit = upload_drives(store, repo, logs, message=f"fleet upload: {len(logs)} drives")
            self.outside["upload"] = time.monotonic() - t
            frames = sum(log.height for log in logs.values())
            self.say(f"fleet uploaded {len(logs)} drives, {frames} frames → landing {commit[:12]}")
            seen, quiet_since = 0, None
            while True:
                if daemon.poll() is not None:
                    raise DemoFailed(f"the dagster daemon exited; see {self.home / 'daemon.log'}")
                t = time.monotonic()
                self._operator_reviews(store, repo, catalog, operator)
                answering = len(self.answers) < cfg.cycles  # then the labelers stop
                for answer in answer_requests(store, repo, inbox, labelers) if answering else []:
                    self.answers.append((time.time(), answer))
                    self.say(
                        f"labelers answered {answer.request_id}: {answer.frames} frames, "
                        f"{answer.boxes} boxes → landing {answer.commit[:12]}"
                    )
                self.outside["labeling"] += time.monotonic() - t
                decisions = catalog.decisions(MODEL_NAME)
                for decision in decisions[seen:]:
                    verdict = "PROMOTED" if decision.approved else "REFUSED"
                    self.say(f"gate: {decision.candidate_version} {verdict} ({_rules(decision)})")
                seen = len(decisions)
                self._raise_on_unexpected_failure(instance)
                if self._quiet(instance, inbox):
                    quiet_since = quiet_since or time.monotonic()
                    if seen >= cfg.cycles:
                        break
                    if seen and time.monotonic() - quiet_since > cfg.idle_s:
                        # a refused candidate leaves the production model, and so the
                        # signals that mine it, unchanged: nothing is left to do
                        self.say(f"loop idle for {cfg.idle_s:.0f} s after {seen} decisions")
                        break
                else:
                    quiet_since = None
                if time.monotonic() - started > cfg.timeout_s:
                    raise DemoFailed(
                        f"no result after {cfg.timeout_s:.0f} s; see the runs in `make ui`"
                    )
                time.sleep(0.5)
            total = time.monotonic() - started
            return self._summary(instance, catalog, store, repo, total, frames)

    def _wait_for_automation(self, instance, daemon, timeout_s: float = 120.0) -> None:
        """Automation conditions compare each tick with the previous one: let the automation
        sensor tick once before any data arrives."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for state in instance.all_instigator_state():
                data = state.instigator_data
                if state.name == AUTOMATION_SENSOR and getattr(data, "last_tick_timestamp", None):
                    return
            if daemon.poll() is not None:
                raise DemoFailed(f"the dagster daemon exited; see {self.home / 'daemon.log'}")
            time.sleep(0.5)
        raise DemoFailed("the automation sensor did not tick within two minutes")

    def _quiet(self, instance, inbox: Path) -> bool:
        import dagster as dg

        from entrypoints.demo.world import pending_requests

        busy = instance.get_runs(
            filters=dg.RunsFilter(
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ]
            )
        )
        labeling = len(self.answers) < self.config.cycles
        return not busy and not (labeling and pending_requests(inbox))

    def _operator_reviews(self, store, repo, catalog, operator) -> None:
        """When a model is promoted, the operator pages through its predictions on a sample
        of fleet frames (the review tool runs the deployed model on them) and flags the frames
        it gets wrong. The flags usually land before that model's slices are cut: the loop
        first runs the model over the whole fleet, many times this sample."""
        from assets.mining.assets import predict_frames
        from assets.mining.signals.scores import random_sample
        from assets.models import StoredModel
        from resources.storage import scan_frames

        production = catalog.alias(MODEL_NAME, "production")
        if production is None or production.version in self.reviewed:
            return
        self.reviewed.add(production.version)
        t = time.monotonic()
        frames = scan_frames(store, repo, "main").collect()
        ids = sorted(frames.get_column("frame_id").to_list())
        sample = random_sample(ids, self.config.operator_reviews, seed=len(self.reviewed))
        shown = frames.filter(frames["frame_id"].is_in(sample))
        model = StoredModel(MODEL_NAME, production.version, production.commit).load(store, repo)
        predictions = predict_frames(store, repo, "main", shown, model).predictions
        flags = operator.review(predictions, sample)
        for frame, reason, who in flags.iter_rows():
            catalog.add_flag(frame, reason, flagged_by=who, model_version=production.version)
        self.outside["review"] = self.outside.get("review", 0.0) + time.monotonic() - t
        self.say(
            f"operator reviewed {len(sample)} predictions of {production.version}: "
            f"{flags.height} flagged"
        )

    def _raise_on_unexpected_failure(self, instance) -> None:
        """A failed run is fine only when it is the promotion gate refusing a candidate."""
        import dagster as dg

        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE])):
            failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if failures and all(f.step_key == "production_model" for f in failures):
                continue
            detail = "; ".join(
                f"{f.step_key}: {f.dagster_event.event_specific_data.error.message.strip()[:300]}"
                for f in failures
                if f.dagster_event and f.dagster_event.event_specific_data
            )
            raise DemoFailed(
                f"run {run.run_id[:8]} ({run.job_name}) failed: {detail or 'see make ui'}"
            )

    # -- the report -----------------------------------------------------------------------
    def _summary(self, instance, catalog, store, repo, total: float, frames: int) -> dict:
        from entrypoints.demo.summary import (
            baseline_vs_production,
            human_runs,
            stage_seconds,
            steps,
        )

        decisions = catalog.decisions(MODEL_NAME)
        final = decisions[-1]
        slices, promoted = baseline_vs_production(
            decisions, lambda d: _read_report(store, d.report_path)
        )
        all_steps = steps(instance)
        stages = {k: round(v, 1) for k, v in self.outside.items()} | stage_seconds(all_steps)
        stages["orchestration"] = round(max(0.0, total - sum(stages.values())), 1)
        manual = human_runs(instance)
        cycle = f"demo-seed{self.config.seed}"
        for stage, seconds in stages.items():
            now = time.time()
            catalog.record_stage(cycle, stage, started_at=_utc(now - seconds), ended_at=_utc(now))
        return {
            "seed": self.config.seed,
            "stack": {
                "store": repr(store),
                "catalog": catalog.url,
                "dagster_storage": type(instance.run_storage).__name__,
                "run_coordinator": type(instance.run_coordinator).__name__,
            },
            "cycles": self._cycles(catalog, store, all_steps),
            "config": asdict(self.config),
            "fleet_frames": frames,
            "slices": slices,
            "promoted": promoted,
            "decision": {"candidate": final.candidate_version, "rules": final.rules},
            "decisions": [
                {
                    "candidate": d.candidate_version,
                    "approved": d.approved,
                    "against": d.against_version,
                }
                for d in decisions
            ],
            "stage_seconds": stages,
            "total_seconds": round(total, 1),
            "human_actions": len(manual),
            "runs": len(instance.get_runs()),
            "manual_runs": manual,
        }

    def _cycles(self, catalog, store, all_steps) -> list[dict]:
        """One entry per label batch the labelers answered: what was asked for, which slices
        it served, how long from its landing commit to the gate's decision, how much of that
        was not training or inference (`overhead_share`), and the gain."""
        from assets.slices.declarations import declared_slices
        from entrypoints.demo.summary import slice_sources

        sources = slice_sources(declared_slices())
        requests = {r.request_id: r for r in catalog.requests()}
        decisions = catalog.decisions(MODEL_NAME)
        cycles = []
        for number, (landed_at, answer) in enumerate(self.answers, start=1):
            request = requests.get(answer.request_id)
            asked = dict(request.slices) if request is not None else {}
            after = [d for d in decisions if d.decided_at.timestamp() >= landed_at]
            decision = after[0] if after else None
            entry: dict = {
                "cycle": number,
                "request_id": answer.request_id,
                "labeled_frames": answer.frames,
                "requested_per_slice": asked,
                # which way of finding frames produced them: a random sample, a metadata
                # query, a model signal, operators' flags, similarity, label review
                "sources": {name: sources.get(name, "unknown") for name in asked},
                "signals": sorted(
                    {sources[n] for n in asked if n in sources and sources[n].startswith("signal:")}
                ),
                "candidate": decision.candidate_version if decision else None,
                "approved": decision.approved if decision else None,
                "label_to_decision_s": round(decision.decided_at.timestamp() - landed_at, 1)
                if decision
                else None,
            }
            if decision is not None:
                entry["overhead_share"] = overhead_share(
                    all_steps, landed_at, decision.decided_at.timestamp()
                )
                report = _read_report(store, decision.report_path)
                entry["delta_ap"] = {s["slice"]: s["delta_ap"] for s in report["slices"]}
            cycles.append(entry)
        return cycles


WORK_STEPS = ("candidate_model", "evaluation_report")  # training and inference


def overhead_share(all_steps, start: float, end: float) -> float | None:
    """Of the seconds from a label commit (`start`) to the gate's decision (`end`), the
    share not spent training the candidate or running the models in its evaluation."""
    if end <= start:
        return None
    work = sum(
        min(s.ended.timestamp(), end) - max(s.started.timestamp(), start)
        for s in all_steps
        if s.key in WORK_STEPS and s.ended.timestamp() > start and s.started.timestamp() < end
    )
    return round(max(0.0, (end - start) - work) / (end - start), 3)


def _rules(decision) -> str:
    failed = decision.failed_rules
    return (
        "; ".join(f"{r['rule']}: {r['detail']}" for r in failed) if failed else "all rules passed"
    )


def _read_report(store, uri: str) -> dict:
    """`lakefs://<repo>/<commit>/<path>` → the JSON there."""
    repo, ref, path = uri.removeprefix("lakefs://").split("/", 2)
    return json.loads(store.get(repo, ref, path))


def run_demo(
    config: DemoConfig,
    home: Path,
    say: Callable[[str], None] = print,
    stack: dict[str, str] | None = None,
) -> dict:
    from entrypoints.demo.summary import slice_table

    summary = Demo(config, home, say, stack).run()
    (home / "demo.json").write_text(json.dumps(summary, indent=2) + "\n")
    say("")
    say(slice_table(summary["slices"]))
    say("")
    for c in summary["cycles"]:
        verdict = {True: "promoted", False: "refused", None: "no decision"}[c["approved"]]
        deltas = {k: v for k, v in (c.get("delta_ap") or {}).items() if v is not None}
        gains = ", ".join(f"{k} {v:+.3f}" for k, v in deltas.items()) or "(first model)"
        say(
            f"cycle {c['cycle']}: {c['labeled_frames']} frames "
            f"({', '.join(f'{k} {v}' for k, v in c['requested_per_slice'].items())}) → "
            f"{verdict} after {c['label_to_decision_s']} s; Δ AP {gains}"
        )
    say("")
    say("stage seconds: " + ", ".join(f"{k} {v}" for k, v in summary["stage_seconds"].items()))
    say(
        f"promoted: {summary['promoted']}   total: {summary['total_seconds']} s   "
        f"human actions: {summary['human_actions']}   runs: {summary['runs']}"
    )
    say(f"wrote {home / 'demo.json'}; browse the runs with `make ui`")
    return summary
