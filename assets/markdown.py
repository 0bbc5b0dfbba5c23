"""Small markdown renderings of tables for Dagster metadata (the UI renders markdown)."""

from __future__ import annotations

import polars as pl


def table_md(df: pl.DataFrame, *, floats: int = 3, max_rows: int = 50) -> str:
    if df.is_empty():
        return "(empty)"

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.{floats}f}"
        return "" if value is None else str(value).replace("|", "\\|")

    header = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.head(max_rows).rows()]
    more = [f"\n…and {df.height - max_rows} more rows"] if df.height > max_rows else []
    return "\n".join([header, rule, *rows, *more])
