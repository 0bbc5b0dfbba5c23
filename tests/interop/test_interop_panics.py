"""Polars' `PanicException` derives from `BaseException`, so `except Exception` lets it through:
where untrusted data is parsed or validated, a panic must end as the same clear error as any
other unreadable input.

The panicking file is real: a drive-log-shaped Parquet file with one byte changed (found by
flipping bytes of this very file with polars 2.1.0; the lock pins the version that writes and
reads it the same way).
"""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from assets.fleet.ingest import read_drive_log
from quality.checks import (
    LABEL_BATCH_CHECK,
    LABEL_FRAMES_CHECK,
    UNPROCESSABLE,
    check_drive_logs,
    check_label_batch,
    check_label_frames,
)

PANIC_OFFSET, PANIC_BYTE = 3896, 203


def panicking_parquet() -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(
        {
            "a": list(range(1000)),
            "s": ["x" * (i % 50) for i in range(1000)],
            "b": [b"\x00" * 10] * 1000,
        }
    ).write_parquet(buffer, compression="zstd", statistics=True)
    data = bytearray(buffer.getvalue())
    data[PANIC_OFFSET] = PANIC_BYTE
    return bytes(data)


def test_a_polars_panic_is_not_an_exception():
    assert issubclass(pl.exceptions.PanicException, BaseException)
    assert not issubclass(pl.exceptions.PanicException, Exception)
    assert pl.exceptions.PanicException in UNPROCESSABLE


def test_a_drive_log_that_makes_polars_panic_is_a_readable_error(bad_inputs):
    data = panicking_parquet()
    with pytest.raises(pl.exceptions.PanicException):  # what `except Exception` missed
        pl.read_parquet(io.BytesIO(data))
    with pytest.raises(ValueError, match=r"^up/d1\.parquet: not a readable Parquet file") as err:
        read_drive_log(data, "up/d1.parquet")  # read through pyarrow, which does not panic
    assert "\n" not in str(err.value)
    bad_inputs.count()


HOSTILE_LABELS = {
    "frame ids as lists": pl.DataFrame({"frame_id": [[1], [2, 3]], "x0": [1.0, 2.0]}),
    "frame ids as structs": pl.DataFrame({"frame_id": [{"a": 1}, {"a": 2}], "x0": [1.0, 2.0]}),
    "frame ids as dates": pl.DataFrame({"frame_id": [date(2020, 1, 1)] * 2, "x0": [1.0, 2.0]}),
    "a 128-bit integer column": pl.DataFrame(
        {"frame_id": ["a", "b"], "x0": pl.Series([2**100, 1], dtype=pl.Int128)}
    ),
}


@pytest.mark.parametrize("case", HOSTILE_LABELS)
def test_an_upload_polars_cannot_process_fails_its_check_instead_of_the_run(case, bad_inputs):
    table = HOSTILE_LABELS[case]
    for check, name in (
        (lambda t: check_label_batch(t, image_width=64, image_height=64, known_frame_ids=["a"]),
         LABEL_BATCH_CHECK),
        (lambda t: check_label_frames(t, ["a"]), LABEL_FRAMES_CHECK),
    ):  # fmt: skip
        result, validation = check(table)
        assert result.check_name == name
        assert not result.passed and not validation.success
        if case == "a 128-bit integer column" and name == LABEL_BATCH_CHECK:
            # box corners are checked as stored, Float32: 2**100 is then a corner far outside
            failed = {(o.type, o.column) for o in validation.failures}
            assert ("expect_column_values_to_be_between", "x0") in failed
            continue
        assert "could not be validated" in result.description
        assert "fix its columns (frame_id" in result.description
        assert validation.failures[0].type == "table_is_processable"
    bad_inputs.count()


def test_drive_logs_polars_cannot_process_fail_the_check():
    logs = pl.DataFrame({"drive_id": [["d0000"]], "image": pl.Series([2**100], dtype=pl.Int128)})
    result, validation = check_drive_logs(logs)
    assert not result.passed and not validation.success
    assert "could not be validated (ArrowInvalid" in result.description
