"""The training-set check on real GX: disjoint splits, sizes and class balance."""

from __future__ import annotations

import polars as pl
import pytest

from quality.checks import check_training_set
from tests.quality.outcomes import failed, outcome

MEAN = "expect_column_mean_to_be_between"


def run(manifest, labels, **kwargs):
    params = {"min_rows": 10, "max_rows": 100, "min_green_share": 0.25} | kwargs
    return check_training_set(manifest, labels, **params)


def test_good_manifest_passes(manifest, labels):
    result, validation = run(manifest, labels)
    assert result.passed, validation.failures
    # Every third frame of the fixture has a green cone.
    assert outcome(validation, MEAN, "has_green_cone").observed_value == pytest.approx(1 / 3)


def test_frame_in_train_and_eval_fails_overlap(manifest, labels):
    leaked = manifest.head(2).with_columns(split=pl.lit("eval"))
    _, validation = run(pl.concat([manifest, leaked]), labels)
    assert failed(validation) == {("expect_column_values_to_be_null", "overlapping_frame_id")}
    samples = outcome(validation, "expect_column_values_to_be_null", "overlapping_frame_id")
    assert set(samples.partial_unexpected) == set(manifest.head(2)["frame_id"])


def test_frame_listed_twice_in_a_split_fails_uniqueness(manifest, labels):
    _, validation = run(pl.concat([manifest, manifest.head(1)]), labels)
    assert failed(validation) == {("expect_compound_columns_to_be_unique", "frame_id, split")}


def test_too_few_green_cones_fails_class_balance(manifest, labels):
    result, validation = run(manifest, labels, min_green_share=0.5)
    assert failed(validation) == {(MEAN, "has_green_cone")}
    assert "has_green_cone" in result.metadata["failed_expectations"].value


def test_row_count_out_of_range_and_unknown_split_fail(manifest, labels):
    odd = manifest.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("test")).otherwise("split").alias("split")
    )
    _, validation = run(odd, labels, max_rows=20)
    assert failed(validation) == {
        ("expect_table_row_count_to_be_between", None),
        ("expect_column_values_to_be_in_set", "split"),
    }
