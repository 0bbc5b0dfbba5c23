"""Human flags: what an operator notices (missed cone, box on nothing, wrong colour), a miss
rate, and the flags as the `flagged` slice."""

from __future__ import annotations

import polars as pl
import pytest

from assets.mining.signals import SimulatedOperator, flagged, wrong_frames
from resources.simulation import Fleet, FleetConfig
from resources.tables import BOXES, PREDICTIONS

CONE = (10.0, 10.0, 20.0, 30.0)
TINY = (40.0, 30.0, 42.0, 34.0)  # 4 px tall


@pytest.fixture
def case():
    truth = pl.DataFrame(
        [
            ("right", *CONE, "orange_cone"),
            ("missed", *CONE, "orange_cone"),
            ("colour", *CONE, "green_cone"),
            ("tiny", *TINY, "orange_cone"),
        ],
        schema=BOXES,
        orient="row",
    )
    predictions = pl.DataFrame(
        [
            ("right", *CONE, "orange_cone", 0.9),
            ("right", 40.0, 10.0, 50.0, 30.0, "orange_cone", 0.3),  # below the threshold
            ("missed", *CONE, "orange_cone", 0.4),
            ("colour", *CONE, "orange_cone", 0.8),
            ("nothing", *CONE, "green_cone", 0.7),
        ],
        schema=PREDICTIONS,
        orient="row",
    )
    return truth, predictions, ["right", "missed", "colour", "tiny", "nothing"]


def test_wrong_frames_names_each_mistake(case):
    truth, predictions, ids = case
    assert sorted(wrong_frames(truth, predictions, ids).rows()) == [
        ("colour", "wrong colour"),
        ("missed", "missed cone"),
        ("nothing", "box on nothing"),
        ("tiny", "missed cone"),
    ]
    eyes = wrong_frames(truth, predictions, ids, min_cone_px=6.0)
    assert "tiny" not in set(eyes["frame_id"])


class Truth:
    """A fleet stand-in: the operator only asks for ground truth."""

    def __init__(self, truth: pl.DataFrame):
        self.truth = truth

    def ground_truth(self, frame_ids):
        return self.truth.filter(pl.col("frame_id").is_in(list(frame_ids)))


def test_the_operator_flags_what_a_person_sees(case):
    truth, predictions, ids = case
    flags = SimulatedOperator(Truth(truth), miss_rate=0.0).review(predictions, ids)
    assert flags.rows() == [
        ("missed", "missed cone", "sim-operator"),
        ("colour", "wrong colour", "sim-operator"),
        ("nothing", "box on nothing", "sim-operator"),
    ]
    assert SimulatedOperator(Truth(truth), miss_rate=1.0).review(predictions, ids).height == 0
    careless = SimulatedOperator(Truth(truth), miss_rate=0.0, false_flag_rate=1.0)
    assert set(careless.review(predictions, ids)["frame_id"]) == set(ids)


def test_flags_become_the_flagged_slice(case):
    truth, predictions, ids = case
    flags = SimulatedOperator(Truth(truth), miss_rate=0.0).review(predictions, ids)
    assert dict(flagged(flags, ids).iter_rows()) == {
        "right": 0.0,
        "missed": 1.0,
        "colour": 1.0,
        "tiny": 0.0,
        "nothing": 1.0,
    }


def test_the_miss_rate_is_a_rate_and_reviews_are_reproducible():
    fleet = Fleet(FleetConfig(seed=2, drives=30, frames_per_drive=8))
    ids = fleet.frame_ids()
    nothing = pl.DataFrame(schema=PREDICTIONS)  # a model that sees nothing: every cone missed
    wrong = set(wrong_frames(fleet.ground_truth(ids), nothing, ids, min_cone_px=6.0)["frame_id"])
    operator = SimulatedOperator(fleet, miss_rate=0.3, seed=1)
    flags = operator.review(nothing, ids)
    assert set(flags["frame_id"]) <= wrong
    assert 0.55 < flags.height / len(wrong) < 0.85, (flags.height, len(wrong))
    assert flags.equals(operator.review(nothing, ids))
