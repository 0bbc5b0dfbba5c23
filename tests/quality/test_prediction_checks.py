"""The predictions check on real GX: confidences and boxes, reported as a warning."""

from __future__ import annotations

import dagster as dg
import polars as pl

from quality.checks import check_predictions
from tests.quality.outcomes import IMAGE_HEIGHT, IMAGE_WIDTH, failed


def test_predictions_pass_then_warn_on_bad_confidence(labels):
    predictions = labels.with_columns(confidence=pl.lit(0.9))
    good, validation = check_predictions(
        predictions, image_width=IMAGE_WIDTH, image_height=IMAGE_HEIGHT
    )
    assert good.passed, validation.failures

    bad = predictions.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(1.5).otherwise("confidence").alias("confidence")
    )
    result, validation = check_predictions(bad, image_width=IMAGE_WIDTH, image_height=IMAGE_HEIGHT)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert failed(validation) == {("expect_column_values_to_be_between", "confidence")}
