"""Expectations shared by fleet tables (drive logs, frames): schema, ids, categories, ranges.

Rules are keyed by column name and apply only to columns the schema declares, so the drive-log
and frames suites differ only in their schema and which columns identify a row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from quality.gx_runner import gx_module
from quality.suites.columns import not_null, schema_expectations

Bounds = tuple[Any, Any]


def plausible_time_bounds(now: dt.datetime | None = None) -> Bounds:
    """From 2000 to a day from now: older is a broken clock, later is a clock set ahead."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return dt.datetime(2000, 1, 1), now + dt.timedelta(days=1)


def fleet_row_expectations(
    schema: Mapping[str, pl.DataType],
    *,
    unique: Sequence[str],
    required: Sequence[str],
    value_sets: Mapping[str, Sequence[str]],
    ranges: Mapping[str, Bounds],
) -> list[Any]:
    """Schema, unique ids, non-null `required`, categories in their sets, values in range."""
    gxe = gx_module().expectations
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="the table has rows"),
        *schema_expectations(schema),
        *not_null(c for c in required if c in schema),
    ]
    expectations += [gxe.ExpectColumnValuesToBeUnique(column=c) for c in unique if c in schema]
    expectations += [
        gxe.ExpectColumnValuesToBeInSet(column=c, value_set=list(values))
        for c, values in value_sets.items()
        if c in schema
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=high)
        for c, (low, high) in ranges.items()
        if c in schema
    ]
    return expectations
