"""The label-frames check on real GX: a batch's `labeled_at` is a time a label was made,
whatever path the batch came by (the CLI import checks it too, a landing upload only here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from quality.checks import check_label_frames
from resources.interop.records import CLOCK_SKEW
from tests.quality.outcomes import FRAME_IDS, failed, outcome

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
NULL = "expect_column_values_to_be_null"


def frames(*moments: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "frame_id": FRAME_IDS[: len(moments)],
            "batch_id": ["lb-1"] * len(moments),
            "labeler": ["ann"] * len(moments),
            "labeled_at": pl.Series(moments, dtype=pl.Datetime("us", "UTC")),
        }
    )


def test_plausible_times_pass():
    result, validation = check_label_frames(
        frames(NOW - timedelta(days=3), NOW + CLOCK_SKEW / 2), FRAME_IDS, NOW
    )
    assert result.passed, validation.failures


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(datetime(9999, 1, 1, tzinfo=UTC), id="year-9999"),
        pytest.param(NOW + CLOCK_SKEW + timedelta(minutes=1), id="beyond-clock-skew"),
        pytest.param(datetime(1999, 12, 31, tzinfo=UTC), id="before-the-fleet"),
    ],
)
def test_an_impossible_labeled_at_fails_the_batch(moment, bad_inputs):
    result, validation = check_label_frames(frames(NOW, moment), FRAME_IDS, NOW)
    assert not result.passed
    assert failed(validation) == {(NULL, "labeled_at_out_of_range")}
    (sample,) = outcome(validation, NULL, "labeled_at_out_of_range").partial_unexpected
    assert sample.startswith(f"{FRAME_IDS[1]} labeled at {moment.year}")
    bad_inputs.count()


def test_naive_times_are_read_as_utc(bad_inputs):
    naive = frames(NOW).with_columns(pl.lit(datetime(9999, 1, 1)).alias("labeled_at"))
    result, _ = check_label_frames(naive, FRAME_IDS, NOW)
    assert not result.passed
    bad_inputs.count()
