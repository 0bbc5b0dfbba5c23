"""Box expectations shared by labels and predictions: corners inside the image, x1 > x0, y1 > y0."""

from __future__ import annotations

from typing import Any

from quality.gx_runner import gx_module
from resources.tables import CLASSES

__all__ = ["BOX_COLUMNS", "CLASSES", "box_expectations", "class_expectation"]

BOX_COLUMNS = ("x0", "y0", "x1", "y1")


def box_expectations(*, image_width: int, image_height: int) -> list[Any]:
    """0 ≤ x0 < x1 ≤ image_width and 0 ≤ y0 < y1 ≤ image_height, in pixels."""
    gxe = gx_module().expectations
    limits = {"x0": image_width, "x1": image_width, "y0": image_height, "y1": image_height}
    inside = [
        gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=0,
            max_value=limit,
            description=f"box corner {column} lies inside the {image_width}x{image_height} image",
        )
        for column, limit in limits.items()
    ]
    ordered = [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=high,
            column_B=low,
            or_equal=False,
            ignore_row_if="either_value_is_missing",  # nulls fail their own expectation
            description=f"{high} > {low}",
        )
        for high, low in (("x1", "x0"), ("y1", "y0"))
    ]
    return inside + ordered


def class_expectation(classes: tuple[str, ...] = CLASSES) -> Any:
    return gx_module().expectations.ExpectColumnValuesToBeInSet(
        column="cls", value_set=list(classes), description="class is one the detector knows"
    )
