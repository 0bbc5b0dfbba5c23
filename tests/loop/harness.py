"""Driving the real loop in-process: real store, real SQLite, real GX, real Dagster execution.

What the daemon does in production (sensor ticks, automation ticks, launching the requested
runs), `LoopHarness` does step by step in the test process, so a test can stop between any
two steps and look. Runs execute with `dg.materialize` against a persistent test instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from assets.definitions import build_definitions
from assets.slices.declarations import SLICES, SliceSpec
from entrypoints.demo.world import answer_requests, upload_drives
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.labeling import SimulatedLabelingService
from resources.simulation import Fleet, SimulatedLabelers
from resources.store_resource import LocalStoreResource

_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class Tick:
    requested: list[str]
    results: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)


class LoopHarness:
    def __init__(
        self,
        root: Path,
        instance: dg.DagsterInstance,
        *,
        slices: Sequence[SliceSpec] = SLICES,
        epochs: int = 0,
        model: str = "cone_net",
    ):
        self.root = root
        self.instance = instance
        self.resources: dict[str, Any] = {
            "store": LocalStoreResource(root=str(root / "store")),
            "catalog": CatalogResource(url=f"sqlite:///{root / 'catalog.db'}"),
            "labeling": SimulatedLabelingService(inbox=str(root / "inbox")),
            "detector": DetectorResource(model=model, epochs=epochs),
        }
        self.use_slices(slices)
        self.cursor = None
        self.sensor_cursors: dict[str, str | None] = {}
        # The daemon ticks from the moment it starts, before any data arrives: conditions
        # such as "an upstream updated" are relative to the previous tick.
        assert not self.automation().requested

    # -- the world ------------------------------------------------------------------------
    @property
    def store(self):
        return self.resources["store"].ensure_repository()

    @property
    def repo(self) -> str:
        return self.resources["store"].repository

    @property
    def catalog(self):
        return self.resources["catalog"].open()

    def main_commit(self) -> str:
        return self.store.resolve(self.repo, "main")

    def upload(self, fleet: Fleet, drive_ids: Sequence[str] | None = None) -> str:
        ids = list(drive_ids) if drive_ids is not None else fleet.drive_ids
        return upload_drives(self.store, self.repo, {d: fleet.drive_log(d) for d in ids})

    def answer(self, labelers: SimulatedLabelers):
        return answer_requests(self.store, self.repo, self.root / "inbox", labelers)

    # -- Dagster --------------------------------------------------------------------------
    def use_slices(self, slices: Sequence[SliceSpec]) -> None:
        """Load the definitions with these slice declarations (an edit = a new code version)."""
        self.defs = build_definitions(slices, self.resources)
        self.assets = list(self.defs.assets or [])

    def sensor(self, name: str) -> list[dg.ExecuteInProcessResult]:
        """One tick of a sensor, then its run requests executed."""
        sensor = self.defs.get_sensor_def(name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.sensor_cursors.get(name),
            resources=self.resources,
            definitions=self.defs,
        )
        result = sensor(context)  # the raw SensorResult; the daemon's own resolving is skipped
        self.sensor_cursors[name] = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        for event in result.asset_events or []:  # what the daemon records for the sensor
            self.instance.report_runless_asset_event(event)
        return [self.run_request(sensor, request) for request in result.run_requests or []]

    def run_request(
        self, sensor: dg.SensorDefinition, request: dg.RunRequest
    ) -> dg.ExecuteInProcessResult:
        keys = request.asset_selection or list(
            sensor.asset_selection.resolve(self.defs.resolve_asset_graph())
        )
        tags = dict(request.tags)
        partition = request.partition_key
        if _RANGE_START in tags:
            partition = None
        return dg.materialize(
            self.assets,
            selection=keys,
            instance=self.instance,
            resources=self.resources,
            partition_key=partition,
            tags=tags,
            raise_on_error=False,
        )

    def automation(self) -> Tick:
        """One automation tick: evaluate every condition, then run what was requested."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = sorted(
            key.to_user_string()
            for key in self.defs.resolve_asset_graph().get_all_asset_keys()
            if result.get_requested_partitions(key)
        )
        tick = Tick(requested)
        if requested:
            tick.results.append(
                dg.materialize(
                    self.assets,
                    selection=requested,
                    instance=self.instance,
                    resources=self.resources,
                    raise_on_error=False,
                )
            )
        return tick

    def settle(self, max_ticks: int = 12) -> list[Tick]:
        """What the daemon does until the loop is quiet: the deployed-model sensor (a promotion
        re-predicts the fleet) and automation ticks, until a tick requests nothing and the
        sensor launches nothing."""
        ticks = []
        for _ in range(max_ticks):
            repredicted = self.sensor("deployed_model_sensor")
            tick = self.automation()
            tick.results[:0] = repredicted
            ticks.append(tick)
            if not tick.requested and not repredicted:
                return ticks
        raise AssertionError(f"automation did not settle in {max_ticks} ticks: {ticks}")

    def materialized(self, asset: str) -> dg.EventLogEntry | None:
        return self.instance.get_latest_materialization_event(dg.AssetKey(asset))
