"""Model signals score every frame asked about, from predictions alone."""

from __future__ import annotations

import math

import polars as pl
import pytest

from assets.mining.registry import SIGNALS, check_signal
from assets.slices.signals import green_cone_score, uncertainty
from resources.tables import PREDICTIONS


@pytest.fixture
def predictions() -> pl.DataFrame:
    rows = [
        ("a", 0.0, 0.0, 5.0, 5.0, "green_cone", 0.3),
        ("a", 0.0, 0.0, 5.0, 5.0, "green_cone", 0.7),
        ("a", 0.0, 0.0, 5.0, 5.0, "orange_cone", 0.5),
        ("b", 0.0, 0.0, 5.0, 5.0, "orange_cone", 0.95),
        ("c", 0.0, 0.0, 5.0, 5.0, "orange_cone", 0.5),
        ("c", 0.0, 0.0, 5.0, 5.0, "orange_cone", 0.5),
    ]
    return pl.DataFrame(rows, schema=PREDICTIONS, orient="row")


def test_green_cone_score_is_the_best_green_confidence(predictions):
    scores = green_cone_score(predictions, ["c", "a", "b", "empty"])
    assert scores["frame_id"].to_list() == ["c", "a", "b", "empty"]
    assert scores["score"].to_list() == pytest.approx([0.0, 0.7, 0.0, 0.0])
    assert scores.schema == pl.Schema({"frame_id": pl.String, "score": pl.Float32})


def test_uncertainty_counts_detections_in_the_band_by_entropy(predictions):
    scores = dict(uncertainty(predictions, ["a", "b", "c", "empty"]).iter_rows())
    h = -(0.3 * math.log2(0.3) + 0.7 * math.log2(0.7))
    assert scores["a"] == pytest.approx(h + 1.0, rel=1e-5)  # 0.3 and 0.5; 0.7 is confident
    assert scores["b"] == 0.0 and scores["empty"] == 0.0
    assert scores["c"] == pytest.approx(2.0)
    assert scores["c"] > scores["a"]


def test_signals_without_frame_ids_score_the_predicted_frames(predictions):
    assert SIGNALS["green_cone_score"].score(predictions)["frame_id"].to_list() == ["a"]
    assert SIGNALS["uncertainty"].score is uncertainty
    assert {s.source for s in SIGNALS.values()} == {"fleet", "predictions", "training"}
    with pytest.raises(ValueError, match="unknown signal 'uncertainity'"):
        check_signal("uncertainity")
    with pytest.raises(ValueError, match="comes from 'fleet'"):
        check_signal("flicker", sources=("predictions",))
