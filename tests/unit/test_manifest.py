"""Building the training set: latest batch wins per frame, splits follow the requesting slice."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from assets.training.manifest import UNREQUESTED, build_training_set, slice_counts
from resources.tables import BOXES, LABEL_REQUEST, LABELED_FRAMES


def frames(rows):
    return pl.DataFrame(
        [(f, b, "lab", datetime(2026, 1, 1, h, tzinfo=UTC)) for f, b, h in rows],
        schema=LABELED_FRAMES,
        orient="row",
    )


def boxes(rows):
    table = pl.DataFrame(
        [(f, 1.0, 1.0, 5.0, 5.0, c) for f, _, c in rows], schema=BOXES, orient="row"
    )
    return table.with_columns(pl.Series("batch_id", [b for _, b, _ in rows], dtype=pl.String))


def requests(rows):
    return pl.DataFrame(
        [("req", f, s, i) for i, (f, s) in enumerate(rows)], schema=LABEL_REQUEST, orient="row"
    )


def test_relabel_replaces_and_splits_follow_roles():
    label_frames = frames([("a", "b1", 1), ("b", "b1", 1), ("c", "b1", 1), ("a", "b2", 2)])
    label_boxes = boxes(
        [("a", "b1", "orange_cone"), ("b", "b1", "green_cone"), ("a", "b2", "green_cone")]
    )
    asked = requests([("a", "baseline"), ("b", "holdout"), ("c", "rain")])
    roles = {"baseline": "bootstrap", "holdout": "eval", "rain": "curated"}
    manifest, labels = build_training_set(label_frames, label_boxes, asked, roles)
    rows = {r["frame_id"]: r for r in manifest.to_dicts()}
    assert rows["a"]["batch_id"] == "b2" and rows["a"]["split"] == "train"
    assert rows["b"]["split"] == "eval" and rows["c"]["slice"] == "rain"
    # frame a's labels are batch b2's only; c is a labeled negative (no boxes at all)
    assert labels.filter(pl.col("frame_id") == "a")["cls"].to_list() == ["green_cone"]
    assert labels.filter(pl.col("frame_id") == "c").is_empty()
    assert slice_counts(manifest) == {"baseline": 1, "rain": 1}


def test_labels_without_a_request_are_trained_on():
    manifest, _ = build_training_set(
        frames([("z", "imp", 1)]), boxes([]), requests([]), {"holdout": "eval"}
    )
    assert manifest.to_dicts()[0]["slice"] == UNREQUESTED
    assert manifest.to_dicts()[0]["split"] == "train"
