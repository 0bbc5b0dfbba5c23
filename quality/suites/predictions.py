"""Suite for a model's prediction table: one row per predicted box with its confidence."""

from __future__ import annotations

from typing import Any

from quality.gx_runner import gx_module
from quality.suites.boxes import BOX_COLUMNS, CLASSES, box_expectations, class_expectation
from quality.suites.columns import not_null, schema_expectations

SUITE = "predictions"
SCHEMA = {
    "frame_id": "str",
    "x0": "number",
    "y0": "number",
    "x1": "number",
    "y1": "number",
    "cls": "str",
    "confidence": "float",
}


def prediction_suite(
    *, image_width: int, image_height: int, classes: tuple[str, ...] = CLASSES, min_rows: int = 1
) -> list[Any]:
    gxe = gx_module().expectations
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
        *schema_expectations(SCHEMA),
        *not_null(["frame_id", *BOX_COLUMNS, "cls", "confidence"]),
        *box_expectations(image_width=image_width, image_height=image_height),
        class_expectation(classes),
        gxe.ExpectColumnValuesToBeBetween(
            column="confidence", min_value=0, max_value=1, description="confidence in [0, 1]"
        ),
    ]
