"""Asset checks: one function per kind of table, each running its suite through GX.

Every check returns the `AssetCheckResult` and the `Validation`, so the asset that calls it can
commit the Data Docs next to the data and then point the result at them with `with_data_docs`.
Checks that protect downstream assets report failures as ERROR; declare them `blocking=True`.
A table that polars or Arrow cannot even process (a column of the wrong kind, or a panic, which
is a `BaseException` that `except Exception` lets through) fails its check, saying so, instead
of failing the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime

import dagster as dg
import polars as pl
import pyarrow as pa

from quality.gx_runner import ExpectationOutcome, Validation, run_suite
from quality.suites import fleet as fleet_suite
from quality.suites import labels as label_suite
from quality.suites import predictions as prediction_suite
from quality.suites import training_set as training_suite
from quality.suites.boxes import CLASSES
from quality.summary import failed_expectations_markdown, unexpected_samples

DRIVE_LOGS_CHECK = "drive_logs_valid"
FRAMES_CHECK = "frames_valid"
LABEL_BATCH_CHECK = "label_batch_valid"
LABEL_FRAMES_CHECK = "label_frames_valid"
TRAINING_SET_CHECK = "training_set_valid"
PREDICTIONS_CHECK = "predictions_valid"

CheckOutcome = tuple[dg.AssetCheckResult, Validation]
# What processing an untrusted table can raise besides our own errors; PanicException is not an
# Exception subclass (pyo3_runtime.PanicException derives from BaseException).
UNPROCESSABLE = (pl.exceptions.PolarsError, pl.exceptions.PanicException, pa.ArrowException)


def survives_bad_tables(check_name: str) -> Callable[[Callable[..., CheckOutcome]], Callable]:
    """A check that fails, naming the error, when its table cannot be processed at all."""

    def wrap(check: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
        @functools.wraps(check)
        def guarded(table: pl.DataFrame, *args, **kwargs) -> CheckOutcome:
            try:
                return check(table, *args, **kwargs)
            except UNPROCESSABLE as error:
                return unprocessable(check_name, table, error)

        return guarded

    return wrap


def unprocessable(check_name: str, table: pl.DataFrame, error: BaseException) -> CheckOutcome:
    """The failed check (and an empty validation) for a table polars or Arrow gave up on."""
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    why = f"{type(error).__name__}: {first}"
    columns = ", ".join(f"{n} {t}" for n, t in list(table.schema.items())[:20])
    outcome = ExpectationOutcome(
        type="table_is_processable",
        column=None,
        success=False,
        unexpected_count=None,
        partial_unexpected=[],
        kwargs={},
        error=why,
    )
    validation = Validation(
        suite=check_name, success=False, results=[outcome], docs={}, statistics={}
    )
    result = dg.AssetCheckResult(
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"the table could not be validated ({why}); fix its columns "
        f"({columns}) and upload it again",
        metadata={
            "error": dg.MetadataValue.text(why),
            "rows": dg.MetadataValue.int(table.height),
            "columns": dg.MetadataValue.text(columns),
        },
    )
    return result, validation


@survives_bad_tables(DRIVE_LOGS_CHECK)
def check_drive_logs(logs: pl.DataFrame) -> CheckOutcome:
    """An upload of drive logs (already `fleet_suite.prepare_drive_log`-ed and concatenated):
    schema, unique frames, known weather and time of day, plausible values, real PNGs."""
    validation = run_suite(logs, fleet_suite.DRIVE_LOG_SUITE, fleet_suite.drive_log_suite())
    return check_result(DRIVE_LOGS_CHECK, validation, rows=logs.height), validation


@survives_bad_tables(FRAMES_CHECK)
def check_frames(frames: pl.DataFrame) -> CheckOutcome:
    validation = run_suite(frames, fleet_suite.FRAMES_SUITE, fleet_suite.frames_suite())
    return check_result(FRAMES_CHECK, validation, rows=frames.height), validation


def unreadable_result(check_name: str, problems: dict[str, str]) -> dg.AssetCheckResult:
    """A failed check for inputs that could not even be read as tables (path → why)."""
    listing = "\n".join(f"- `{path}`: {why}" for path, why in sorted(problems.items()))
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(problems)} file(s) could not be read: {', '.join(sorted(problems))}",
        metadata={"unreadable": dg.MetadataValue.md(listing)},
    )


@survives_bad_tables(LABEL_BATCH_CHECK)
def check_label_batch(
    labels: pl.DataFrame,
    *,
    image_width: int,
    image_height: int,
    known_frame_ids: Iterable[str] | None = None,
    frame_sizes: pl.DataFrame | None = None,
    classes: tuple[str, ...] = CLASSES,
    max_boxes_per_frame: int = label_suite.MAX_BOXES_PER_FRAME,
) -> CheckOutcome:
    """Boxes inside the image (with `frame_sizes` (frame_id, width, height), each inside its
    own frame's) and well-ordered as stored (Float32), known classes and, if given, known
    frames."""
    expectations = label_suite.label_batch_suite(
        image_width=image_width,
        image_height=image_height,
        classes=classes,
        max_boxes_per_frame=max_boxes_per_frame,
        check_known_frames=known_frame_ids is not None,
        check_frame_sizes=frame_sizes is not None,
    )
    prepared = label_suite.prepare(labels, known_frame_ids, frame_sizes)
    validation = run_suite(prepared, label_suite.SUITE, expectations)
    return check_result(LABEL_BATCH_CHECK, validation, rows=labels.height), validation


@survives_bad_tables(LABEL_FRAMES_CHECK)
def check_label_frames(
    frames: pl.DataFrame, known_frame_ids: Iterable[str], now: datetime | None = None
) -> CheckOutcome:
    """The frame list of a batch: unique fleet frames, with labeler and a plausible time."""
    prepared = label_suite.prepare_frames(frames, known_frame_ids, now)
    validation = run_suite(prepared, label_suite.FRAMES_SUITE, label_suite.label_frames_suite())
    return check_result(LABEL_FRAMES_CHECK, validation, rows=frames.height), validation


@survives_bad_tables(TRAINING_SET_CHECK)
def check_training_set(
    manifest: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    min_rows: int = 1,
    max_rows: int | None = None,
    min_green_share: float = 0.0,
) -> CheckOutcome:
    """Splits well-formed and disjoint, size in range, enough frames with a green cone."""
    expectations = training_suite.training_set_suite(
        min_rows=min_rows, max_rows=max_rows, min_green_share=min_green_share
    )
    prepared = training_suite.prepare(manifest, labels)
    validation = run_suite(prepared, training_suite.SUITE, expectations)
    return check_result(TRAINING_SET_CHECK, validation, rows=manifest.height), validation


@survives_bad_tables(PREDICTIONS_CHECK)
def check_predictions(
    predictions: pl.DataFrame,
    *,
    image_width: int,
    image_height: int,
    classes: tuple[str, ...] = CLASSES,
) -> CheckOutcome:
    """Predicted boxes inside the image, known classes, confidence in [0, 1]; warns only."""
    expectations = prediction_suite.prediction_suite(
        image_width=image_width, image_height=image_height, classes=classes
    )
    validation = run_suite(predictions, prediction_suite.SUITE, expectations)
    result = check_result(
        PREDICTIONS_CHECK, validation, rows=predictions.height, severity=dg.AssetCheckSeverity.WARN
    )
    return result, validation


def check_result(
    check_name: str,
    validation: Validation,
    *,
    rows: int,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """The Dagster view of a validation: verdict, failed expectations, offending samples."""
    stats = validation.statistics
    met, evaluated = stats.get("successful_expectations", 0), stats.get("evaluated_expectations", 0)
    failed = len(validation.failures)
    description = (
        f"suite {validation.suite}: all {len(validation.results)} expectations met"
        if validation.success
        else f"suite {validation.suite}: {failed} of {len(validation.results)} expectations "
        f"failed ({', '.join(sorted({o.type for o in validation.failures}))})"
    )
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=validation.success,
        severity=severity,
        description=description,
        metadata={
            "suite": dg.MetadataValue.text(validation.suite),
            "rows": dg.MetadataValue.int(rows),
            "expectations_met": dg.MetadataValue.text(f"{met}/{evaluated}"),
            "failed_expectations": dg.MetadataValue.md(failed_expectations_markdown(validation)),
            "unexpected_samples": dg.MetadataValue.json(unexpected_samples(validation)),
        },
    )


def with_data_docs(result: dg.AssetCheckResult, location: str) -> dg.AssetCheckResult:
    """`result` pointing at where its Data Docs were committed (a URL or a store path)."""
    is_url = location.startswith(("http://", "https://", "file://"))
    link = dg.MetadataValue.url(location) if is_url else dg.MetadataValue.path(location)
    return result.with_metadata({**result.metadata, "data_docs": link})
