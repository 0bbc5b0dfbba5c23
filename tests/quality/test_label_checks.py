"""The label-batch check on real GX: a good batch passes, each kind of bad box fails its own."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from quality.checks import LABEL_BATCH_CHECK, check_label_batch
from tests.quality.outcomes import FRAME_IDS, IMAGE_HEIGHT, IMAGE_WIDTH, failed, outcome

BETWEEN = "expect_column_values_to_be_between"
first_row = pl.int_range(pl.len()) == 0


def run(labels: pl.DataFrame, **kwargs):
    params = {"image_width": IMAGE_WIDTH, "image_height": IMAGE_HEIGHT} | kwargs
    params.setdefault("known_frame_ids", FRAME_IDS)
    return check_label_batch(labels, **params)


def test_good_batch_passes(labels):
    result, validation = run(labels)
    assert result.passed and validation.success, validation.failures
    assert result.check_name == LABEL_BATCH_CHECK
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert "All" in result.metadata["failed_expectations"].value


@pytest.mark.parametrize(
    ("breakage", "expected_failure", "sample"),
    [
        pytest.param(
            pl.when(first_row).then(IMAGE_WIDTH + 5.0).otherwise("x1").alias("x1"),
            (BETWEEN, "x1"),
            IMAGE_WIDTH + 5.0,
            id="box-out-of-image",
        ),
        pytest.param(
            pl.when(first_row).then(pl.lit("tree")).otherwise("cls").alias("cls"),
            ("expect_column_values_to_be_in_set", "cls"),
            "tree",
            id="unknown-class",
        ),
        pytest.param(
            pl.when(first_row).then("x0").otherwise("x1").alias("x1"),
            ("expect_column_pair_values_a_to_be_greater_than_b", "x1, x0"),
            None,
            id="x1-not-after-x0",
        ),
        pytest.param(
            pl.when(first_row).then(None).otherwise("y0").alias("y0"),
            ("expect_column_values_to_not_be_null", "y0"),
            None,
            id="null-coordinate",
        ),
        pytest.param(
            pl.when(first_row).then(pl.lit("ghost/0001")).otherwise("frame_id").alias("frame_id"),
            ("expect_column_values_to_be_null", "unknown_frame_id"),
            "ghost/0001",
            id="unknown-frame",
        ),
    ],
)
def test_bad_box_fails_its_expectation(labels, breakage, expected_failure, sample):
    result, validation = run(labels.with_columns(breakage))
    assert not result.passed
    assert failed(validation) == {expected_failure}
    if sample is not None:
        assert outcome(validation, *expected_failure).partial_unexpected == [sample]
        assert str(sample) in str(result.metadata["unexpected_samples"].value)
    assert expected_failure[0] in result.metadata["failed_expectations"].value


def test_duplicate_box_fails_uniqueness(labels):
    _, validation = run(pl.concat([labels, labels.head(1)]))
    assert failed(validation) == {
        ("expect_compound_columns_to_be_unique", "frame_id, x0, y0, x1, y1, cls")
    }


def test_crowded_frame_fails_boxes_per_frame(labels):
    _, validation = run(labels, max_boxes_per_frame=1)
    assert failed(validation) == {(BETWEEN, "boxes_in_frame")}
    assert outcome(validation, BETWEEN, "boxes_in_frame").partial_unexpected == [2]


def test_empty_batch_fails_row_count(labels):
    _, validation = run(labels.head(0))
    assert failed(validation) == {("expect_table_row_count_to_be_between", None)}


def test_wrong_column_type_fails_type_expectation(labels):
    _, validation = run(labels.with_columns(pl.col("x0").cast(pl.String)))
    assert ("expect_column_values_to_be_in_type_list", "x0") in failed(validation)


def test_missing_column_is_named(labels):
    result, validation = run(labels.drop("cls"))
    missing = outcome(validation, "expect_table_columns_to_match_set", None)
    assert not missing.success and missing.partial_unexpected == ["cls"]
    assert not result.passed


def test_known_frames_are_optional(labels):
    _, validation = run(labels, known_frame_ids=None)
    assert validation.success
    assert all(o.column != "unknown_frame_id" for o in validation.results)


def sizes(own: dict[str, tuple[int, int]] | None = None):
    """Every frame IMAGE_WIDTH x IMAGE_HEIGHT, except the frames sized in `own`."""
    own = own or {}
    rows = [(f, *own.get(f, (IMAGE_WIDTH, IMAGE_HEIGHT))) for f in FRAME_IDS]
    return pl.DataFrame(rows, schema=["frame_id", "width", "height"], orient="row")


def test_a_box_is_bounded_by_its_own_frame_not_the_largest_image(labels, bad_inputs):
    # frame 0 is a small image; its second box (300..340, 200..260) fits only the large ones
    small = sizes({FRAME_IDS[0]: (320, 240)})
    result, validation = run(labels, frame_sizes=small)
    assert failed(validation) == {("expect_column_values_to_be_null", "box_outside_frame")}
    (sample,) = outcome(
        validation, "expect_column_values_to_be_null", "box_outside_frame"
    ).partial_unexpected
    assert sample == "drive-1/0000 300.0,200.0,340.0,260.0 outside 320x240"
    assert not result.passed
    bad_inputs.count()
    assert run(labels, frame_sizes=sizes())[0].passed  # every frame large: the same boxes pass


def test_a_box_only_wide_in_float64_fails_as_stored(labels, bad_inputs):
    # 1e-7 wider in float64, zero wide once stored as Float32
    thin = labels.with_columns(
        pl.when(first_row).then(pl.col("x0") + 1e-7).otherwise("x1").alias("x1")
    )
    assert (thin["x1"] > thin["x0"]).all()
    result, validation = run(thin, frame_sizes=sizes())
    assert failed(validation) == {("expect_column_pair_values_a_to_be_greater_than_b", "x1, x0")}
    assert not result.passed
    bad_inputs.count()
