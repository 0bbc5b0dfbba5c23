"""Label errors: a confident prediction no label covers (missing), a labeled box the model
calls the other colour (wrong class), a labeled box the model sees nothing at although it
sees every box that size (spurious), a labeled box much larger than the object (loose)."""

from __future__ import annotations

import polars as pl
import pytest

from assets.mining.signals import label_errors, label_issues, matched_errors
from resources.simulation.labelers import ERRORS
from resources.tables import BOXES, PREDICTIONS

CONE = (20.0, 20.0, 30.0, 40.0)  # 20 px tall
SMALL = (40.0, 30.0, 43.0, 36.0)  # 6 px tall


def frame_rows(n: int):
    """`n` clean frames per class: one labeled cone each, which the model finds at 0.9."""
    labels, predictions = [], []
    for i in range(n):
        for cls in ("orange_cone", "green_cone"):
            fid = f"clean-{cls[0]}{i:02d}"
            labels.append((fid, *CONE, cls))
            predictions.append((fid, *CONE, cls, 0.9))
            predictions.append((fid, *CONE, "green_cone" if cls[0] == "o" else "orange_cone", 0.1))
    return labels, predictions


@pytest.fixture
def case():
    labels, predictions = frame_rows(10)
    # missing: the labeler overlooked a second cone the model is sure of
    labels += [("missing", *CONE, "orange_cone")]
    predictions += [
        ("missing", *CONE, "orange_cone", 0.9),
        ("missing", 45, 20, 55, 40, "orange_cone", 0.9),
    ]
    # wrong class: labeled green, the model says orange
    labels += [("swap", *CONE, "green_cone")]
    predictions += [("swap", *CONE, "orange_cone", 0.9), ("swap", *CONE, "green_cone", 0.1)]
    # loose: the labeled box is twice as wide and tall as the cone the model finds
    labels += [("loose", 15.0, 10.0, 35.0, 50.0, "orange_cone")]
    predictions += [("loose", *CONE, "orange_cone", 0.9)]
    # spurious: a 20 px box the model sees nothing at (it sees every other 20 px cone)
    labels += [("spurious", *CONE, "orange_cone")]
    # a small cone the model misses: small cones are often missed, no surprise
    labels += [("far", *SMALL, "orange_cone")]
    frames = sorted({row[0] for row in labels} | {"empty"})
    return (
        pl.DataFrame(labels, schema=BOXES, orient="row"),
        pl.DataFrame(predictions, schema=PREDICTIONS, orient="row"),
        frames,
    )


def test_each_kind_of_label_error_is_found_on_its_frame(case):
    labels, predictions, frames = case
    issues = label_issues(labels, predictions, frames)
    assert set(issues["frame_id"]) == {"missing", "swap", "spurious", "loose"}
    worst = issues.unique("frame_id", keep="first", maintain_order=True)
    assert dict(worst.select("frame_id", "kind").iter_rows()) == {
        "missing": "missing",
        "swap": "wrong_class",
        "spurious": "spurious",
        "loose": "loose",
    }
    missing = issues.filter(pl.col("kind") == "missing")
    assert missing.select("x0", "x1").row(0) == (45.0, 55.0)  # the unlabeled cone's box


def test_frames_rank_by_their_worst_issue(case):
    labels, predictions, frames = case
    ranking = label_errors(labels, predictions, frames).sort(
        ["score", "frame_id"], descending=[True, False]
    )
    orange_precision = 11 / 14  # orange boxes at 0.9: 11 of 14 hit an orange label
    assert ranking.head(4).rows() == [
        # the model sees 12 of the 13 orange labels of 20 px or more confidently
        ("spurious", pytest.approx(12 / 13, abs=1e-6)),
        ("loose", pytest.approx(orange_precision, abs=1e-6)),
        ("missing", pytest.approx(orange_precision, abs=1e-6)),
        # labels side with orange 11 of 12 times when orange has 90% of the votes
        ("swap", pytest.approx(orange_precision * 11 / 12, abs=1e-6)),
    ]
    rest = ranking.filter(~pl.col("frame_id").is_in(["missing", "spurious", "swap", "loose"]))
    assert rest["score"].max() == 0.0
    assert set(ranking["frame_id"]) == set(frames)


def test_clean_labels_raise_nothing_confident():
    labels, predictions = frame_rows(5)
    labels = pl.DataFrame(labels, schema=BOXES, orient="row")
    predictions = pl.DataFrame(predictions, schema=PREDICTIONS, orient="row")
    frames = labels["frame_id"].unique().to_list()
    assert label_errors(labels, predictions, frames)["score"].max() == 0.0


def test_issues_are_scored_against_an_error_log(case):
    labels, predictions, frames = case
    errors = pl.DataFrame(
        [
            ("missing", "missed", "orange_cone", None, 45.0, 20.0, 55.0, 40.0),
            ("clean-o00", "missed", "orange_cone", None, 0.0, 0.0, 5.0, 9.0),
        ],
        schema=ERRORS,
        orient="row",
    )
    found = matched_errors(label_issues(labels, predictions, frames), errors)
    assert found["found"].to_list() == [True, False]
