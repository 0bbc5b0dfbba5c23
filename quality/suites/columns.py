"""Schema expectations shared by the suites: columns exist, have the right type, are not null.

Types are named by family ("str", "int", "float", "number", "bool", "datetime") and checked
on the pandas frame that `quality.gx_runner.to_pandas` builds, so a family lists the pandas
dtype names a polars column of that family can arrive as.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from quality.gx_runner import gx_module

_INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
_FLOATS = ["float32", "float64"]
_DATETIMES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"]
PANDAS_TYPES: dict[str, list[str]] = {
    "str": ["str"],
    "int": _INTS,
    "float": _FLOATS,
    "number": _INTS + _FLOATS,
    "bool": ["bool"],
    "datetime": _DATETIMES,
    "date": _DATETIMES,
}


def type_family(dtype: pl.DataType | type[pl.DataType]) -> str:
    """The family of a polars dtype, as used in a suite's schema."""
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "str"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        return "datetime"
    raise ValueError(f"no type family for polars dtype {dtype}; add one in {__name__}")


def schema_expectations(schema: Mapping[str, str | pl.DataType]) -> list[Any]:
    """Every column of `schema` exists and has its type (a family name or a polars dtype)."""
    gxe = gx_module().expectations
    expectations: list[Any] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=list(schema), exact_match=False)
    ]
    for column, dtype in schema.items():
        family = dtype if isinstance(dtype, str) else type_family(dtype)
        expectations.append(
            gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=PANDAS_TYPES[family])
        )
    return expectations


def not_null(columns: Iterable[str]) -> list[Any]:
    gxe = gx_module().expectations
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def offenders_absent(column: str, description: str) -> Any:
    """`column` is a derived column holding an offending value per row (null when fine).

    Validating it as all-null makes GX report the offending values themselves as the
    unexpected samples, e.g. the frame ids that sit in both splits.
    """
    return gx_module().expectations.ExpectColumnValuesToBeNull(
        column=column, description=description
    )
