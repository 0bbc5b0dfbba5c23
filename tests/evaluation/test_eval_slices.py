"""Eval slices select frames by metadata or labels, score their own classes."""

from __future__ import annotations

import polars as pl
import pytest

from assets.evaluation.eval_slices import EVAL_SLICES, EvalSlice, evaluate, slice_by_name
from resources.tables import BOXES, PREDICTIONS

OR, G = "orange_cone", "green_cone"


@pytest.fixture
def case():
    frames = pl.DataFrame(
        {
            "frame_id": ["dry", "wet", "dark", "trees"],
            "weather": ["clear", "rain", "clear", "clear"],
            "time_of_day": ["day", "day", "night", "day"],
        }
    )
    gt = pl.DataFrame(
        [
            ("dry", 10.0, 10.0, 20.0, 30.0, OR),
            ("dry", 30.0, 10.0, 40.0, 30.0, G),
            ("wet", 10.0, 10.0, 20.0, 30.0, OR),
            ("dark", 10.0, 10.0, 20.0, 30.0, OR),
        ],
        schema=BOXES,
        orient="row",
    )
    pred = pl.DataFrame(
        [
            ("dry", 10.0, 10.0, 20.0, 30.0, OR, 0.9),
            ("dry", 30.0, 10.0, 40.0, 30.0, G, 0.6),
            ("dark", 10.0, 10.0, 20.0, 30.0, OR, 0.8),
            ("trees", 5.0, 5.0, 15.0, 25.0, G, 0.95),  # a tree taken for a green cone
        ],
        schema=PREDICTIONS,
        orient="row",
    )
    return frames, gt, pred


def test_the_declared_slices_exist():
    names = [s.name for s in EVAL_SLICES]
    assert {"all", "rain", "night", "green_cones", "orange_cones"} <= set(names)
    assert slice_by_name("green_cones").classes == (G,)
    with pytest.raises(KeyError, match="declared"):
        slice_by_name("snow")


def test_evaluate_one_row_per_slice(case):
    frames, gt, pred = case
    report = {r["slice"]: r for r in evaluate(frames, gt, pred).iter_rows(named=True)}
    assert report["rain"]["frames"] == 1 and report["rain"]["ap"] == 0.0  # missed in the rain
    assert report["night"]["ap"] == 1.0 and report["night"]["boxes"] == 1
    assert report["orange_cones"]["ap"] == pytest.approx(2 / 3)
    # the tree false alarm outranks the real green cone: AP 1/2, precision 1/2 on all frames
    assert report["green_cones"]["ap"] == pytest.approx(0.5)
    assert report["green_cones"]["precision"] == pytest.approx(0.5)
    assert report["all"]["frames"] == 4 and report["all"]["boxes"] == 4


def test_label_based_slice(case):
    frames, gt, pred = case
    with_green = EvalSlice("has_green", "frames with a green cone", has_class=(G,), classes=(G,))
    row = evaluate(frames, gt, pred, [with_green]).row(0, named=True)
    assert row["frames"] == 1 and row["ap"] == 1.0  # the tree frame is not in this slice
