"""The loop's fault figures: a process killed at every loop fault point (resources/faults.py),
then restarted with nothing cleaned by hand, and the world checked.

    python -m bench.faults_loop [--output PATH]

A small world (6 drives, a baseline request answered) is built once and copied for each
kill. The killed step runs in a subprocess armed with `FLEETLOOP_FAULT_POINT`; the restart
does what the daemon does after a crash: run monitoring marks the dead run failed, the
sensors tick again, and the failed promotion run is re-executed. Then the store passes fsck,
every committed byte reads back, store and catalog agree, every label batch is published
exactly once and the production alias and main agree. tests/loop/test_loop_faults.py runs
the same kills; this writes the figures to bench/results/faults_loop.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from assets.models import candidate_branch
from resources.faults import EXIT_STATUS, LOOP_POINTS, point
from resources.layout import checkpoint_path

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "faults_loop.json"
MODEL = "cone_detector"  # the registry name of the cone_net detector
SIZES = {"holdout": 30, "baseline": 50}
DRIVES, FRAMES_PER_DRIVE = 6, 24
_RUN_KEY = "dagster/run_key"
_SENSOR = "dagster/sensor_name"
_RANGE_START = "dagster/asset_partition_range_start"
_PROMOTION_STEPS = ["training_set", "candidate_model", "evaluation_report"]

# point -> (the world it starts from, the step the armed process takes)
STEPS = {
    **{p: ("trained", "promote") for p in LOOP_POINTS if p.startswith("promotion:")},
    **{p: ("answered", "label_tick") for p in LOOP_POINTS if p.startswith("label_sets:")},
    "label_batch_sensor:requested": ("answered", "label_tick"),
    "fleet_upload_sensor:requested": ("trained", "upload_tick"),
}
KILLS = [(p, *STEPS[p]) for p in LOOP_POINTS if p in STEPS] + [
    ("sensor_tick:launched", "answered", "label_tick"),
    ("sensor_tick:cursor", "answered", "label_tick"),
    ("sensor_tick:launched", "trained", "upload_tick"),
    ("sensor_tick:cursor", "trained", "upload_tick"),
]


def _fleet():
    from resources.simulation import Fleet, FleetConfig

    return Fleet(FleetConfig(seed=5, drives=DRIVES, frames_per_drive=FRAMES_PER_DRIVE))


def world_definitions(root: Path) -> dg.Definitions:
    """The loop's definitions on the world at `root`: its store, catalog and simulated
    labelers, a one-epoch cone_net and small slices."""
    from assets.definitions import build_definitions
    from assets.slices.declarations import SLICES
    from bench.loop_world import world_resources
    from resources.detector_resource import DetectorResource

    resources = {**world_resources(root), "detector": DetectorResource(model="cone_net", epochs=1)}
    slices = tuple(
        dataclasses.replace(s, target_size=SIZES[s.name]) for s in SLICES if s.name in SIZES
    )
    return build_definitions(slices, resources)


class World:
    """A loop on disk: store, catalog, a persistent Dagster instance and the daemon's sensor
    cursors, driven as the daemon drives it (run keys launch once per sensor)."""

    def __init__(self, root: Path):
        self.root = root
        (root / "dagster").mkdir(parents=True, exist_ok=True)
        self.instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(root / "dagster")))
        self.defs = world_definitions(root)
        self.resources: dict[str, Any] = dict(self.defs.resources or {})
        self.assets = list(self.defs.assets or [])

    def close(self) -> None:
        self.instance.dispose()

    @property
    def store(self):
        return self.resources["store"].ensure_repository()

    @property
    def repo(self) -> str:
        return self.resources["store"].repository

    @property
    def catalog(self):
        return self.resources["catalog"].open()

    # -- the daemon's state and steps ---------------------------------------------------
    def _cursors(self) -> dict[str, str | None]:
        path = self.root / "cursors.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def evaluate(self, name: str, cursor: str | None) -> dg.SensorResult:
        """One evaluation of sensor `name` from `cursor`; it launches nothing."""
        context = dg.build_sensor_context(
            instance=self.instance, cursor=cursor, resources=self.resources, definitions=self.defs
        )
        return self.defs.get_sensor_def(name)(context)

    def unspent(self, name: str, result: dg.SensorResult) -> list[dg.RunRequest]:
        """The run requests of `result` whose run key sensor `name` never launched: what the
        daemon would launch."""
        return [
            request
            for request in result.run_requests or []
            if not self.instance.get_runs(
                dg.RunsFilter(tags={_RUN_KEY: request.run_key, _SENSOR: name}), limit=1
            )
        ]

    def tick(self, name: str) -> list[dg.ExecuteInProcessResult]:
        """One sensor tick as the daemon takes it: evaluate, launch each requested run whose
        run key this sensor never launched, then store the cursor."""
        sensor = self.defs.get_sensor_def(name)
        cursors = self._cursors()
        result = self.evaluate(name, cursors.get(name))
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        runs = [self.launch(sensor, request) for request in self.unspent(name, result)]
        point("sensor_tick:launched")
        cursors[name] = result.cursor
        (self.root / "cursors.json").write_text(json.dumps(cursors))
        point("sensor_tick:cursor")
        return runs

    def launch(self, sensor: dg.SensorDefinition, request: dg.RunRequest):
        keys = request.asset_selection or list(
            sensor.asset_selection.resolve(self.defs.resolve_asset_graph())
        )
        tags = {**request.tags, _RUN_KEY: request.run_key, _SENSOR: sensor.name}
        partition = None if _RANGE_START in tags else request.partition_key
        return self.materialize(keys, partition=partition, tags=tags)

    def materialize(self, keys, *, partition=None, tags=None) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.assets,
            selection=keys,
            instance=self.instance,
            resources=self.resources,
            partition_key=partition,
            tags=tags or {},
            raise_on_error=False,
        )

    def mark_dead_runs_failed(self) -> int:
        """What run monitoring does after a crash: a run whose process died is failed."""
        dead = self.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        for run in dead:
            self.instance.report_run_failed(run, "the run worker died (fault injection)")
        return len(dead)

    def promote(self) -> dg.ExecuteInProcessResult:
        return self.materialize(["production_model"])

    def materialized(self, asset: str) -> dg.EventLogEntry | None:
        return self.instance.get_latest_materialization_event(dg.AssetKey(asset))


# -- building the worlds once -------------------------------------------------------------
def build_worlds(scratch: Path) -> dict[str, Path]:
    """Two snapshots: `answered` (6 drives published, the baseline request answered on the
    landing branch, one more drive not yet uploaded) and `trained` (its labels published and
    a candidate evaluated, not yet promoted)."""
    from entrypoints.demo.world import answer_requests, upload_drives
    from resources.simulation import SimulatedLabelers

    fleet = _fleet()
    root = scratch / "build"
    world = World(root)
    try:
        first = fleet.drive_ids[:-1]
        upload_drives(world.store, world.repo, {d: fleet.drive_log(d) for d in first})
        assert all(r.success for r in world.tick("fleet_upload_sensor"))
        for asset in ("holdout_slice", "baseline_slice", "labeling_queue"):
            assert world.materialize([asset]).success, asset
        answer_requests(world.store, world.repo, root / "inbox", SimulatedLabelers(fleet, seed=5))
    finally:
        world.close()
    answered = scratch / "answered"
    shutil.copytree(root, answered)
    world = World(root)
    try:
        assert [r.success for r in world.tick("label_batch_sensor")] == [True]
        for asset in _PROMOTION_STEPS:
            assert world.materialize([asset]).success, asset
    finally:
        world.close()
    trained = scratch / "trained"
    shutil.copytree(root, trained)
    return {"answered": answered, "trained": trained}


# -- one kill -----------------------------------------------------------------------------
def run_step(root: Path, step: str) -> None:
    """The step a killed process takes (the worker's body)."""
    world = World(root)
    try:
        if step == "promote":
            world.promote()
        elif step == "label_tick":
            world.tick("label_batch_sensor")
        elif step == "upload_tick":
            from entrypoints.demo.world import upload_drives

            fleet = _fleet()
            last = fleet.drive_ids[-1]
            if not world.store.exists(world.repo, "landing", f"uploads/drives/{last}.parquet"):
                upload_drives(world.store, world.repo, {last: fleet.drive_log(last)})
            world.tick("fleet_upload_sensor")
        else:
            raise ValueError(f"unknown step {step!r}")
    finally:
        world.close()


def kill_at(root: Path, fault: str, step: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "FLEETLOOP_FAULT_POINT": fault}
    worker = [sys.executable, "-m", "bench.faults_loop", "--worker", str(root), step]
    done = subprocess.run(worker, env=env, cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == EXIT_STATUS, (fault, done.returncode, done.stderr[-3000:])


def recover(root: Path, step: str) -> dict[str, int]:
    """Restart after the kill and let the loop go on: run monitoring fails the dead run, both
    landing sensors tick and their runs run, and a failed promotion run is re-executed (as
    Dagster re-executes a failed run); the counts of what it did."""
    world = World(root)
    try:
        dead = world.mark_dead_runs_failed()
        runs = world.tick("label_batch_sensor") + world.tick("fleet_upload_sensor")
        assert all(r.success for r in runs), [r.run_id for r in runs if not r.success]
        if step == "promote":
            assert world.promote().success
        return {"dead_runs": dead, "runs_after_restart": len(runs)}
    finally:
        world.close()


def check_world(root: Path) -> dict[str, int]:
    """Assert the five promises on the world at `root`; the counts checked."""
    world = World(root)
    try:
        vs, repo, cat = world.store, world.repo, world.catalog
        assert vs.fsck(repo, full=True).ok
        read = committed_bytes(vs, repo)
        main_log = list(vs.log(repo, "main"))
        on_main = {c.id for c in main_log}
        publishes = Counter(
            c.message.removeprefix("publish label batch ")
            for c in main_log
            if c.message.startswith("publish label batch ")
        )
        landed = {
            e.path.split("/")[2]
            for e in vs.list_objects(repo, "landing", "uploads/labels/")
            if e.path.count("/") >= 3
        }
        batches = {b.batch_id: b for b in cat.label_batches()}
        # every label batch that landed is recorded, and published exactly once
        assert landed == set(batches), (landed, set(batches))
        for batch, record in batches.items():
            merged = vs.exists(repo, "main", f"labels/{batch}/batch.json")
            assert merged == (record.status == "published"), (batch, record.status)
            if merged:
                assert publishes[batch] == 1, (batch, publishes[batch])
                assert record.published_commit in on_main, batch
                if record.request_id:
                    (request,) = [r for r in cat.requests() if r.request_id == record.request_id]
                    assert request.status == "answered" and request.batch_id == batch
        assert set(publishes) <= set(batches), set(publishes) - set(batches)
        # promotions recorded <=> tags on main; production and main agree
        tags = {t.name: t.commit_id for t in vs.list_tags(repo)}
        approved = {d.candidate_version: d for d in cat.decisions(MODEL) if d.approved}
        model_tags = {n for n in tags if n.startswith(f"{MODEL}-")}
        assert model_tags == {f"{MODEL}-{v}" for v in approved}, (model_tags, set(approved))
        promotes = Counter(c.message for c in main_log if c.message.startswith("promote "))
        for version, decision in approved.items():
            assert tags[f"{MODEL}-{version}"] == decision.merge_commit in on_main
            assert promotes[f"promote {MODEL} {version}"] == 1, promotes
        production = cat.alias(MODEL, "production")
        if approved:
            assert production is not None
            newest = next(c for c in main_log if c.message.startswith("promote "))
            assert newest.id == tags[f"{MODEL}-{production.version}"]
            assert vs.exists(repo, "main", checkpoint_path(MODEL, production.version))
            branches = {b.name for b in vs.list_branches(repo)}
            assert candidate_branch(production.version) not in branches
        else:
            assert production is None
        return {"objects_read": read, "label_batches": len(batches), "promotions": len(approved)}
    finally:
        world.close()


def committed_bytes(vs, repo: str) -> int:
    """Every object of every commit reachable from a branch or tag, read back and checked
    against its recorded checksum and size (each distinct object once); how many were read."""
    heads = {r.commit_id for r in (*vs.list_branches(repo), *vs.list_tags(repo))}
    seen_commits: set[str] = set()
    seen: set[str] = set()
    for head in heads:
        for commit in vs.log(repo, head):
            if commit.id in seen_commits:
                break
            seen_commits.add(commit.id)
            for stat in vs.list_objects(repo, commit.id):
                if stat.checksum in seen:
                    continue
                data = vs.get(repo, commit.id, stat.path)
                assert hashlib.sha256(data).hexdigest() == stat.checksum, (commit.id, stat.path)
                assert len(data) == stat.size, (commit.id, stat.path)
                seen.add(stat.checksum)
    return len(seen)


def kill_and_recover(worlds: dict[str, Path], scratch: Path, fault: str, start: str, step: str):
    root = scratch / f"{fault.replace(':', '-')}-{step}"
    shutil.copytree(worlds[start], root)
    kill_at(root, fault, step)
    counts = recover(root, step)
    return {**counts, **check_world(root)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=2, metavar=("ROOT", "STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_step(Path(args.worker[0]), args.worker[1])
        return 0
    started = time.perf_counter()
    by_kill = {}
    with tempfile.TemporaryDirectory(prefix="faults-loop-") as scratch:
        worlds = build_worlds(Path(scratch))
        built = time.perf_counter() - started
        for fault, start, step in KILLS:
            try:
                figures = kill_and_recover(worlds, Path(scratch), fault, start, step)
                by_kill[f"{fault} @ {step}"] = {"survived": True, **figures}
            except Exception as error:  # a failed kill is a figure here, not a crash
                detail = "".join(traceback.format_exception_only(error)).strip()[:800]
                by_kill[f"{fault} @ {step}"] = {"survived": False, "failure": detail}
    survived = sum(k["survived"] for k in by_kill.values())
    figures = {
        "points": len({f for f, _, _ in KILLS}),
        "kills": len(KILLS),
        "survived": survived,
        "world_build_s": round(built, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "by_kill": by_kill,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    summary = f"loop faults: {survived}/{len(KILLS)} kills at {figures['points']} points survived"
    sys.stdout.write(f"{summary}\n")
    return 0 if survived == len(KILLS) else 1


if __name__ == "__main__":
    sys.exit(main())
