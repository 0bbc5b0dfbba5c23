"""Kills at every loop fault point (resources/faults.py), then a restart with nothing cleaned
by hand: the store passes fsck, every committed byte reads back, store and catalog agree,
every label batch is published exactly once, and the production alias and main agree.

The worlds, the killed worker and the checks are bench/faults_loop.py's, so `make faults`
reports the same kills as figures."""

from __future__ import annotations

import pytest

from bench import faults_loop
from resources.faults import LOOP_POINTS

pytestmark = [pytest.mark.slow, pytest.mark.faults]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    return faults_loop.build_worlds(tmp_path_factory.mktemp("loop-faults"))


def test_every_loop_point_is_killed_at():
    assert {fault for fault, _, _ in faults_loop.KILLS} == set(LOOP_POINTS)


@pytest.mark.parametrize(
    ("fault", "start", "step"), faults_loop.KILLS, ids=[f"{f}@{s}" for f, _, s in faults_loop.KILLS]
)
def test_a_kill_loses_nothing_and_doubles_nothing(worlds, tmp_path, fault, start, step):
    figures = faults_loop.kill_and_recover(worlds, tmp_path, fault, start, step)
    assert figures["label_batches"] == 1
    assert figures["promotions"] == (1 if step == "promote" else 0)
    if fault.startswith(("promotion:", "label_sets:")):
        assert figures["dead_runs"] == 1  # the killed run, failed by the restart
