"""Run a Great Expectations suite on a polars frame and collect its outcome and Data Docs.

Great Expectations takes seconds to import, so it is imported on first use (`gx_module`), never
at module level: importing `quality` stays cheap for code locations that never validate. Each
call builds its own ephemeral context (a few milliseconds, unlike the import) whose only Data
Docs site is a fresh temporary directory, so the returned docs hold exactly this call's suite and
validation. GX keeps process-global state (its current project), so calls are serialised.
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import polars.selectors as cs

PARTIAL_UNEXPECTED_LIMIT = 10
# GX samples the first N offending rows; asking for more leaves room for 10 distinct values.
_GX_SAMPLE_ROWS = 50
_DOCS_SITE = "fleetloop"
_DATASOURCE = "fleetloop"
_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: what was expected, whether it held, and a sample of offenders."""

    type: str
    column: str | None
    success: bool
    unexpected_count: int | None
    partial_unexpected: list[Any]
    kwargs: dict[str, Any]
    observed_value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Validation:
    """A suite's verdict on one table, with the Data Docs site (relative path → bytes) for it."""

    suite: str
    success: bool
    results: list[ExpectationOutcome]
    docs: dict[str, bytes] = field(repr=False)
    statistics: dict[str, Any]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    @property
    def docs_page(self) -> str | None:
        """Relative path of this validation's page in `docs` (index.html links to it too)."""
        pages = sorted(p for p in self.docs if p.startswith("validations/"))
        return pages[0] if pages else None


def gx_module() -> Any:
    """Import Great Expectations (slow, so only on first use) with analytics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def run_suite(
    df: pl.DataFrame,
    suite_name: str,
    expectations: list[Any],
    *,
    asset_name: str = "table",
    run_name: str | None = None,
) -> Validation:
    """Validate `df` against `expectations` (gx.expectations.* objects) as suite `suite_name`."""
    gx = gx_module()
    from great_expectations.core.run_identifier import RunIdentifier

    pdf = to_pandas(df)
    with _GX_LOCK, tempfile.TemporaryDirectory(prefix="fleetloop-gx-docs-") as docs_dir:
        context = _ephemeral_context(docs_dir)
        batch = (
            context.data_sources.add_pandas(_DATASOURCE)
            .add_dataframe_asset(asset_name)
            .add_batch_definition_whole_dataframe("whole")
        )
        # Copies, because the suite store assigns ids to the objects it is given.
        suite = context.suites.add(
            gx.ExpectationSuite(name=suite_name, expectations=copy.deepcopy(expectations))
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=suite_name,
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[_DOCS_SITE])],
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": _GX_SAMPLE_ROWS,
                },
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": pdf}, run_id=RunIdentifier(run_name=run_name)
        )
        docs = _read_tree(Path(docs_dir))

    (suite_result,) = result.run_results.values()
    # GX groups results by metric; report them in the order the suite declares them.
    order = {e.id: i for i, e in enumerate(suite.expectations)}
    results = sorted(suite_result.results, key=lambda r: order.get(r.expectation_config.id, 0))
    return Validation(
        suite=suite_name,
        success=bool(suite_result.success),
        results=[_outcome(r) for r in results],
        docs=docs,
        statistics=dict(suite_result.statistics),
    )


def to_pandas(df: pl.DataFrame) -> Any:
    """Polars → pandas in the shapes GX's pandas engine compares types on reliably.

    Strings (and categoricals) become object columns of `str`, so `ExpectColumnValuesToBeInTypeList`
    with "str" checks values rather than pandas 3's `str` dtype, which GX cannot name; aware
    timestamps become naive UTC, so range expectations compare like with like.
    """
    aware = [n for n, t in df.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    df = df.with_columns(
        (cs.categorical() | cs.enum()).cast(pl.String),
        *(pl.col(n).dt.convert_time_zone("UTC").dt.replace_time_zone(None) for n in aware),
    )
    pdf = df.to_pandas(use_pyarrow_extension_array=False)
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            pdf[name] = pdf[name].astype(object)
    return pdf


def _ephemeral_context(docs_dir: str) -> Any:
    gx = gx_module()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={
            _DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": docs_dir,
                },
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = {k: _plain(v) for k, v in config.kwargs.items() if k != "batch_id"}
    details = result.result or {}
    # Table-level expectations name their offenders elsewhere, e.g. the missing columns.
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    partial = details.get("partial_unexpected_list") or mismatched.get("missing") or []
    return ExpectationOutcome(
        type=config.type,
        column=_column_of(kwargs),
        success=bool(result.success),
        unexpected_count=details.get("unexpected_count"),
        partial_unexpected=_distinct(_plain(v) for v in partial)[:PARTIAL_UNEXPECTED_LIMIT],
        kwargs=kwargs,
        observed_value=_plain(details.get("observed_value")),
        error=_error_of(result.exception_info),
    )


def _distinct(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return None


def _error_of(info: Any) -> str | None:
    # GX reports either one exception dict or a dict of them keyed by metric id.
    if not info:
        return None
    infos = [info] if "raised_exception" in info else list(info.values())
    messages = [str(i.get("exception_message")) for i in infos if i.get("raised_exception")]
    return "; ".join(_distinct(messages)) or None


def _plain(value: Any) -> Any:
    """Numpy/pandas scalars → Python values, so outcomes serialise to JSON and markdown."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ in ("datetime64", "timedelta64"):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            return value
    return value
