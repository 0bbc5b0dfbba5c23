"""Low confidence: detections in the uncertain band (`uncertainty`, reused), and optionally
objects the model cannot give a colour."""

from __future__ import annotations

import math

import polars as pl
import pytest

from assets.mining.signals import class_confusion, low_confidence
from resources.tables import PREDICTIONS

BOX = (10.0, 10.0, 20.0, 30.0)
OTHER = (40.0, 10.0, 50.0, 30.0)


def h(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


@pytest.fixture
def predictions() -> pl.DataFrame:
    rows = [
        ("sure", *BOX, "orange_cone", 0.95),
        ("sure", *BOX, "green_cone", 0.05),
        ("coin", *BOX, "orange_cone", 0.5),
        ("two", *BOX, "orange_cone", 0.3),
        ("two", *OTHER, "orange_cone", 0.4),
        ("colour", *BOX, "orange_cone", 0.7),
        ("colour", *BOX, "green_cone", 0.7),
        ("faint", *BOX, "orange_cone", 0.1),
    ]
    return pl.DataFrame(rows, schema=PREDICTIONS, orient="row")


def test_frames_rank_by_the_entropy_of_their_uncertain_detections(predictions):
    ids = ["sure", "coin", "two", "colour", "faint", "empty"]
    scores = low_confidence(predictions, ids)
    assert scores["frame_id"].to_list() == ids
    assert dict(scores.iter_rows()) == pytest.approx(
        {"sure": 0, "coin": 1, "two": h(0.3) + h(0.4), "colour": 0, "faint": 0, "empty": 0}
    )
    ranking = scores.sort(["score", "frame_id"], descending=[True, False])["frame_id"]
    assert ranking.to_list()[:2] == ["two", "coin"]


def test_class_confusion_counts_each_object_once(predictions):
    scores = dict(class_confusion(predictions, ["sure", "colour", "coin"]).iter_rows())
    assert scores == pytest.approx({"sure": 0.0, "colour": 1.0, "coin": 0.0})  # 0.05 < 0.3 floor
    both = dict(low_confidence(predictions, ["colour", "coin"], class_weight=1.0).iter_rows())
    assert both == pytest.approx({"colour": 1.0, "coin": 1.0})
