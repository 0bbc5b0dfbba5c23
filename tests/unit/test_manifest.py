"""Building the training set: latest batch wins per frame, splits follow the requesting slice."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from assets.slices.declarations import RandomSample, SliceSpec
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


def requests(rows, at=None):
    """LABEL_REQUEST rows (frame, slice) of one request made at hour `at` (default: in row
    order, one request per row)."""
    table = pl.DataFrame(
        [(f"req{i if at is None else at}", f, s, i) for i, (f, s) in enumerate(rows)],
        schema=LABEL_REQUEST,
        orient="row",
    )
    times = [f"2026-01-01T{(i if at is None else at):02d}:00" for i in range(table.height)]
    return table.with_columns(pl.Series("requested_at", times, dtype=pl.String))


def specs(**roles):
    return [SliceSpec(name, name, RandomSample(0), 10, role=role) for name, role in roles.items()]


NO_MEMBERS = pl.DataFrame(schema={"frame_id": pl.String, "slice": pl.String})


def test_relabel_replaces_and_splits_follow_roles():
    label_frames = frames([("a", "b1", 1), ("b", "b1", 1), ("c", "b1", 1), ("a", "b2", 2)])
    label_boxes = boxes(
        [("a", "b1", "orange_cone"), ("b", "b1", "green_cone"), ("a", "b2", "green_cone")]
    )
    asked = requests([("a", "baseline"), ("b", "holdout"), ("c", "rain")])
    declared = specs(baseline="bootstrap", holdout="eval", rain="curated")
    manifest, labels = build_training_set(label_frames, label_boxes, asked, NO_MEMBERS, declared)
    rows = {r["frame_id"]: r for r in manifest.to_dicts()}
    assert rows["a"]["batch_id"] == "b2" and rows["a"]["split"] == "train"
    assert rows["b"]["split"] == "eval" and rows["c"]["slice"] == "rain"
    # frame a's labels are batch b2's only; c is a labeled negative (no boxes at all)
    assert labels.filter(pl.col("frame_id") == "a")["cls"].to_list() == ["green_cone"]
    assert labels.filter(pl.col("frame_id") == "c").is_empty()
    assert slice_counts(manifest) == {"baseline": 1, "rain": 1}


def test_labels_without_a_request_are_trained_on():
    manifest, _ = build_training_set(
        frames([("z", "imp", 1)]), boxes([]), requests([]), NO_MEMBERS, specs(holdout="eval")
    )
    assert manifest.to_dicts()[0]["slice"] == UNREQUESTED
    assert manifest.to_dicts()[0]["split"] == "train"


def test_a_slice_that_now_holds_a_labeled_frame_gets_it_at_once_with_its_weight():
    """An edited rain slice whose candidates hold a frame the baseline asked for: the frame
    counts for rain (more specific), at rain's weight, without a new request; the gate's
    counts still say who asked first."""
    declared = [
        SliceSpec("baseline", "", RandomSample(0), 10, role="bootstrap"),
        SliceSpec("rain", "", RandomSample(1), 10, role="curated", weight=3.0),
    ]
    members = pl.DataFrame({"frame_id": ["a"], "slice": ["rain"]})
    manifest, _ = build_training_set(
        frames([("a", "b1", 1), ("b", "b1", 1)]),
        boxes([]),
        requests([("a", "baseline"), ("b", "baseline")]),
        members,
        declared,
    )
    rows = {r["frame_id"]: r for r in manifest.to_dicts()}
    assert (rows["a"]["slice"], rows["a"]["weight"]) == ("rain", 3.0)
    assert (rows["b"]["slice"], rows["b"]["weight"]) == ("baseline", 1.0)
    assert slice_counts(manifest) == {"baseline": 2}


def test_a_frame_keeps_the_slice_that_asked_first_in_time_not_in_path_order():
    """Request ids are content hashes, so their path order says nothing about time: the
    earlier request (made at 01:00, id `req9`) wins over the later one (05:00, id `req1`)."""
    declared = specs(uncertain="signal", disagreement="signal", label_review="review")
    asked = pl.concat(
        [
            requests([("a", "disagreement")], at=5).with_columns(
                pl.lit("req1").alias("request_id")
            ),
            requests([("a", "uncertain")], at=1).with_columns(pl.lit("req9").alias("request_id")),
            requests([("a", "label_review")], at=7),
        ]
    )
    manifest, _ = build_training_set(
        frames([("a", "b1", 1)]), boxes([]), asked, NO_MEMBERS, declared
    )
    row = manifest.to_dicts()[0]
    assert (row["slice"], row["requested_by"]) == ("uncertain", "uncertain")


def test_an_evaluation_slice_holds_out_what_it_asked_for_whatever_else_wants_it():
    declared = specs(holdout="eval", rain="curated")
    members = pl.DataFrame({"frame_id": ["h"], "slice": ["rain"]})
    manifest, _ = build_training_set(
        frames([("h", "b1", 1)]), boxes([]), requests([("h", "holdout")]), members, declared
    )
    assert manifest.to_dicts()[0]["split"] == "eval"
