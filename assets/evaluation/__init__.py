"""Evaluation: detection metrics and per-slice reports, pure polars / numpy."""
