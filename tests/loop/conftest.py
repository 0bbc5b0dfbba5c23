"""A small simulated fleet and the real loop around it (store, catalog, GX, Dagster)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from assets.slices.declarations import SLICES
from resources.simulation import Fleet, FleetConfig, SimulatedLabelers
from tests.loop.harness import LoopHarness

# Targets for a 960-frame fleet: the product's slices at a fraction of their size.
SIZES = {"holdout": 160, "baseline": 300, "rain": 60, "green_cones": 60}
SMALL_SLICES = tuple(
    dataclasses.replace(s, target_size=SIZES[s.name]) for s in SLICES if s.name in SIZES
)
EPOCHS = 10


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    # rain more common than in the product fleet, so a 40-drive fleet surely has some
    return Fleet(FleetConfig(seed=5, drives=40, frames_per_drive=24, rain_share=0.2))


@pytest.fixture(scope="module")
def labelers(fleet) -> SimulatedLabelers:
    return SimulatedLabelers(fleet, seed=5)


def make_harness(root: Path) -> Iterator[LoopHarness]:
    (root / "dagster").mkdir(parents=True)
    with dg.instance_for_test(temp_dir=str(root / "dagster")) as instance:
        yield LoopHarness(root, instance, slices=SMALL_SLICES, epochs=EPOCHS)


@pytest.fixture
def harness(tmp_path) -> Iterator[LoopHarness]:
    yield from make_harness(tmp_path)


@pytest.fixture(scope="module")
def module_harness(tmp_path_factory) -> Iterator[LoopHarness]:
    yield from make_harness(tmp_path_factory.mktemp("loop"))
