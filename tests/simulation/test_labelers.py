"""Simulated labelers: exact without noise, noisy at the configured rates, every mistake logged."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from resources.simulation import Fleet, FleetConfig, LabelNoise, SimulatedLabelers
from resources.tables import BOXES, LABELED_FRAMES


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet(FleetConfig(seed=7, drives=120, frames_per_drive=10, cone_zone_share=0.5))


def test_noiseless_labels_are_the_ground_truth(fleet):
    ids = fleet.frame_ids()[:200]
    at = datetime(2025, 5, 1, tzinfo=UTC)
    batch = SimulatedLabelers(fleet, LabelNoise(0, 0, 0)).label(ids, "b1", requested_at=at)
    assert batch.frames.schema == LABELED_FRAMES and batch.boxes.schema == BOXES
    assert batch.frames["frame_id"].to_list() == ids  # negatives are listed too
    assert (batch.frames["labeled_at"] == at).all()
    assert batch.errors.is_empty()
    truth = fleet.ground_truth(ids)
    assert batch.boxes.sort(BOXES.names()).equals(truth.sort(BOXES.names()))


def test_noise_rates_are_as_configured_and_the_error_log_is_exact(fleet):
    ids = fleet.frame_ids()
    noise = LabelNoise(miss_rate=0.1, wrong_class_rate=0.05, jitter_px=0.3, loose_box_rate=0.05)
    batch = SimulatedLabelers(fleet, noise, seed=1).label(ids, "noisy")
    truth = fleet.ground_truth(ids)
    n = truth.height
    assert n > 1000
    errors = batch.errors.group_by("kind").len()
    count = dict(zip(errors["kind"], errors["len"], strict=True))
    assert abs(count["missed"] / n - 0.1) < 0.03
    assert abs(count["wrong_class"] / n - 0.05) < 0.02
    assert abs(count["loose_box"] / n - 0.05 * 0.9) < 0.02
    # exact bookkeeping: every true box is labeled once unless logged as missed
    assert batch.boxes.height == n - count["missed"]
    per_class = batch.boxes.group_by("cls").len()
    true_class = truth.group_by("cls").len()
    labeled = dict(zip(per_class["cls"], per_class["len"], strict=True))
    expected = dict(zip(true_class["cls"], true_class["len"], strict=True))
    for cls, other in (("orange_cone", "green_cone"), ("green_cone", "orange_cone")):
        e = batch.errors
        lost = e.filter(
            (pl.col("true_cls") == cls) & pl.col("kind").is_in(["missed", "wrong_class"])
        )
        gained = e.filter((pl.col("true_cls") == other) & (pl.col("kind") == "wrong_class"))
        assert labeled.get(cls, 0) == expected.get(cls, 0) - lost.height + gained.height


def test_spurious_boxes_are_green_cones_on_trees(fleet):
    ids = fleet.frame_ids()
    batch = SimulatedLabelers(fleet, LabelNoise(0, 0, 0, spurious_rate=0.3)).label(ids, "t")
    spurious = batch.errors.filter(pl.col("kind") == "spurious")
    trees = fleet.confusers(ids)
    assert 0.2 < spurious.height / trees.height < 0.4
    assert (spurious["labeled_cls"] == "green_cone").all()
    assert batch.boxes.height == fleet.ground_truth(ids).height + spurious.height


def test_labels_are_reproducible_per_batch_and_independent_across_batches(fleet):
    ids = fleet.frame_ids()[:300]
    labelers = SimulatedLabelers(fleet, LabelNoise(miss_rate=0.2), seed=3)
    a, again, other = labelers.label(ids, "a"), labelers.label(ids, "a"), labelers.label(ids, "b")
    assert a.boxes.equals(again.boxes) and a.errors.equals(again.errors)
    assert not a.errors.equals(other.errors)


def test_boxes_stay_inside_the_image_and_are_never_empty(fleet):
    ids = fleet.frame_ids()
    noise = LabelNoise(jitter_px=3.0, loose_box_rate=0.5)
    boxes = SimulatedLabelers(fleet, noise).label(ids, "x").boxes
    size = fleet.config.image_size
    assert boxes.filter(
        (pl.col("x0") < 0)
        | (pl.col("y0") < 0)
        | (pl.col("x1") > size)
        | (pl.col("y1") > size)
        | (pl.col("x1") <= pl.col("x0"))
        | (pl.col("y1") <= pl.col("y0"))
    ).is_empty()


def test_unknown_frames_are_refused(fleet):
    with pytest.raises(KeyError):
        SimulatedLabelers(fleet).label(["d9999-00000"], "bad")
