"""Disagreement: a box one model finds and the other does not, or a class flip, weighted by
confidence; agreement scores nothing."""

from __future__ import annotations

import polars as pl
import pytest

from assets.mining.signals import disagreement, disagreements
from resources.tables import PREDICTIONS

BOX = (10.0, 10.0, 20.0, 30.0)
NEAR = (11.0, 10.0, 21.0, 31.0)  # the same object, boxed a little differently


def table(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PREDICTIONS, orient="row")


@pytest.fixture
def models() -> tuple[pl.DataFrame, pl.DataFrame]:
    a = table(
        ("agree", *BOX, "orange_cone", 0.9),
        ("only_a", *BOX, "orange_cone", 0.8),
        ("flip", *BOX, "orange_cone", 0.7),
        ("flip", *BOX, "green_cone", 0.1),
        ("weaker", *BOX, "orange_cone", 0.9),
        ("faint", *BOX, "orange_cone", 0.2),  # below min_confidence on both sides
    )
    b = table(
        ("agree", *NEAR, "orange_cone", 0.85),
        ("flip", *NEAR, "green_cone", 0.6),
        ("weaker", *NEAR, "orange_cone", 0.5),
        ("only_b", *BOX, "green_cone", 0.4),
    )
    return a, b


def test_frames_rank_by_how_much_the_models_disagree(models):
    a, b = models
    ids = ["agree", "only_a", "flip", "weaker", "faint", "only_b", "empty"]
    scores = dict(disagreement(a, b, ids).iter_rows())
    assert scores == pytest.approx(
        {
            "agree": 0.05,  # 0.9 vs 0.85
            "only_a": 0.8,  # the other model saw nothing
            "flip": 0.7 + 0.5,  # orange 0.7 vs nothing orange; green 0.6 vs 0.1
            "weaker": 0.4,
            "faint": 0.0,
            "only_b": 0.4,
            "empty": 0.0,
        },
        abs=1e-6,
    )
    ranking = disagreement(a, b, ids).sort(["score", "frame_id"], descending=[True, False])
    assert ranking["frame_id"].to_list()[:3] == ["flip", "only_a", "only_b"]


def test_disagreement_is_symmetric_and_explained(models):
    a, b = models
    ab = dict(disagreement(a, b).iter_rows())
    ba = dict(disagreement(b, a).iter_rows())
    assert ab == pytest.approx(ba)
    events = disagreements(a, b).filter(pl.col("frame_id") == "flip")
    assert events.select("model", "cls", "other").rows() == [
        ("a", "orange_cone", 0.0),
        ("b", "green_cone", pytest.approx(0.1)),
    ]


def test_identical_predictions_do_not_disagree(models):
    a, _ = models
    assert disagreement(a, a)["score"].max() == 0.0
