"""The fleetloop worlds the loop benchmarks run on: a home with the real embedded store, SQLite
catalog and a persistent Dagster instance; a deployed model; fleets written straight to main.

Shared by `bench.loop_scale` and its worker processes (which open the same home).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BULK_DRIVES = 4_000  # synthetic drives per bulk commit
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class World:
    """One fleetloop home: store, catalog, labeling inbox, a persistent Dagster instance."""

    root: Path
    resources: dict[str, Any]
    instance: Any  # dg.DagsterInstance
    defs: Any  # dg.Definitions

    @property
    def store(self):
        return self.resources["store"].ensure_repository()

    @property
    def repo(self) -> str:
        return self.resources["store"].repository

    @property
    def assets(self) -> list:
        return list(self.defs.assets or [])


def world_resources(root: Path) -> dict[str, Any]:
    from resources.catalog_resource import CatalogResource
    from resources.detector_resource import DetectorResource
    from resources.labeling import SimulatedLabelingService
    from resources.store_resource import LocalStoreResource

    return {
        "store": LocalStoreResource(root=str(root / "store")),
        "catalog": CatalogResource(url=f"sqlite:///{root / 'catalog.db'}"),
        "labeling": SimulatedLabelingService(inbox=str(root / "inbox")),
        "detector": DetectorResource(),
    }


@contextlib.contextmanager
def open_world(root: Path) -> Iterator[World]:
    import dagster as dg

    from assets.definitions import build_definitions
    from entrypoints.demo.instance import prepare_instance
    from resources.landing import ensure_landing

    dagster_home = prepare_instance(root)
    resources = world_resources(root)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        world = World(root, resources, instance, build_definitions(resources=resources))
        ensure_landing(world.store, world.repo)
        yield world


def materialize(world: World, keys, *, partition_key=None, tags=None):
    import dagster as dg

    return dg.materialize(
        world.assets,
        selection=keys,
        instance=world.instance,
        resources=world.resources,
        partition_key=partition_key,
        tags=tags or {},
        run_config=QUIET,
        raise_on_error=False,
    )


def sensor_tick(world: World, name: str, cursor: str | None):
    """One tick of a sensor as the daemon evaluates it: its result, partitions added."""
    import dagster as dg

    context = dg.build_sensor_context(
        instance=world.instance, cursor=cursor, resources=world.resources, definitions=world.defs
    )
    result = world.defs.get_sensor_def(name)(context)
    for request in result.dynamic_partitions_requests or []:
        world.instance.add_dynamic_partitions(
            request.partitions_def_name, list(request.partition_keys)
        )
    return result


def deploy(world: World, version: str, model: bytes, challenger: bytes) -> None:
    """What a promotion leaves behind: checkpoints on main, the version registered, the
    registry alias `production` moved to it."""
    from resources.layout import challenger_path, checkpoint_path, model_dir

    vs, repo, name = world.store, world.repo, world.resources["detector"].name
    with vs.transact(repo, "main", f"deploy {name} {version}") as txn:
        vs.put(repo, txn, checkpoint_path(name, version), model)
        vs.put(repo, txn, challenger_path(name, version), challenger)
    commit = vs.resolve(repo, "main")
    catalog = world.resources["catalog"].open()
    catalog.register_model(
        name,
        version,
        branch="main",
        commit=commit,
        training_set_commit=commit,
        metrics={},
        card_path=f"{model_dir(name, version)}/card.md",
    )
    catalog.set_alias(name, "production", version)


def checkpoints() -> tuple[bytes, bytes]:
    """A ConeNet and a differently seeded challenger, both at their initial weights."""
    import torch

    from resources.detection import make_detector, save_checkpoint

    torch.manual_seed(0)
    model = make_detector("cone_net")
    torch.manual_seed(1)
    challenger = make_detector("cone_net")
    return save_checkpoint(model), save_checkpoint(challenger)


def bulk_put(world: World, branch: str, items: list[tuple[str, bytes]], message: str) -> None:
    world.store.put_many(world.repo, branch, items)
    world.store.commit(world.repo, branch, message)


def synthetic_fleet(world: World, drives: int, template_drive: str, template_log) -> float:
    """`drives` synthetic drives copied from `template_drive` (already published, with its
    predictions); returns the seconds it took to write them."""
    import polars as pl

    from assets.fleet.assets import drives as drive_partitions
    from assets.fleet.ingest import frames_of
    from resources.landing import DRIVE_UPLOADS, LANDING_BRANCH
    from resources.layout import (
        challenger_predictions_path,
        drive_path,
        embeddings_path,
        frames_path,
        predictions_path,
        signals_path,
    )
    from resources.storage import table_bytes

    started = time.perf_counter()
    copied = (predictions_path, embeddings_path, challenger_predictions_path, signals_path)
    copies = [(p, world.store.get(world.repo, "main", p(template_drive))) for p in copied]
    image = template_log.get_column("image")[0]
    base = template_log.with_columns(pl.lit(image, dtype=pl.Binary).alias("image"))
    ids = [f"s{i:05d}" for i in range(drives)]
    for start in range(0, drives, BULK_DRIVES):
        on_main, on_landing = [], []
        for drive in ids[start : start + BULK_DRIVES]:
            log = base.with_columns(pl.lit(drive).alias("drive_id"))
            raw = table_bytes(log)
            on_landing.append((f"{DRIVE_UPLOADS}{drive}.parquet", raw))
            on_main.append((drive_path(drive), raw))
            on_main.append((frames_path(drive), table_bytes(frames_of(log, drive_path(drive)))))
            on_main.extend((path(drive), data) for path, data in copies)
        bulk_put(world, LANDING_BRANCH, on_landing, f"synthetic uploads from {start}")
        bulk_put(world, "main", on_main, f"synthetic fleet drives from {start}")
    world.instance.add_dynamic_partitions(drive_partitions.name, ids)
    return time.perf_counter() - started


def fleet_world(root: Path, drives: int) -> int:
    """A simulated fleet of `drives` published straight to main (logs and frames), its drives
    added as partitions; returns the frame count."""
    from assets.fleet.assets import drives as drive_partitions
    from assets.fleet.ingest import frames_of
    from resources.layout import drive_path, frames_path
    from resources.simulation import Fleet, FleetConfig
    from resources.storage import table_bytes

    fleet = Fleet(FleetConfig(seed=1, drives=drives))
    with open_world(root) as world:
        items = []
        for drive in fleet.drive_ids:
            log = fleet.drive_log(drive)
            items.append((drive_path(drive), table_bytes(log)))
            items.append((frames_path(drive), table_bytes(frames_of(log, drive_path(drive)))))
        bulk_put(world, "main", items, f"fleet of {drives} drives")
        world.instance.add_dynamic_partitions(drive_partitions.name, fleet.drive_ids)
    return len(fleet.frame_ids())
