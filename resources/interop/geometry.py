"""Boxes between formats: fleetloop's pixel corners, Label Studio's percents, COCO's xywh.

fleetloop boxes are pixel corners `(x0, y0, x1, y1)` inside the image (`resources/tables.py`).
Label Studio stores the top-left corner and the size in percent of the image it showed, so a
box means the same on a resized copy; COCO stores the top-left corner and the size in pixels
of the image it lists. Every incoming box is clipped to the frame and refused when little or
nothing of it is left.
"""

from __future__ import annotations

import math

from resources.interop.records import show

MIN_SIDE_PX = 0.5  # a clipped box thinner than this was drawn outside the image


def to_percent(box: tuple[float, float, float, float], width: int, height: int) -> dict[str, float]:
    """Pixel corners → Label Studio's `x`, `y`, `width`, `height` (0-100)."""
    x0, y0, x1, y1 = box
    return {
        "x": 100.0 * x0 / width,
        "y": 100.0 * y0 / height,
        "width": 100.0 * (x1 - x0) / width,
        "height": 100.0 * (y1 - y0) / height,
    }


def to_xywh(box: tuple[float, float, float, float]) -> list[float]:
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


def number(value: object, name: str) -> float:
    """`value` as a finite float, or ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = repr(show(value)) if isinstance(value, str) else show(value)
        raise ValueError(f"{name} must be a number, not {shown}")
    try:
        as_float = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError(f"{name} must be a pixel or percent value, not {show(value)}") from None
    if not math.isfinite(as_float):
        raise ValueError(f"{name} must be finite, not {show(value)}")
    return as_float


def clipped_box(
    x: float, y: float, w: float, h: float, width: int, height: int
) -> tuple[float, float, float, float]:
    """A top-left/size box in the frame's pixels, clipped to the `width` x `height` frame."""
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive (got {w:g} x {h:g} px)")
    x0, y0 = max(x, 0.0), max(y, 0.0)
    x1, y1 = min(x + w, float(width)), min(y + h, float(height))
    if x1 - x0 < MIN_SIDE_PX or y1 - y0 < MIN_SIDE_PX:
        raise ValueError(
            f"box ({x:g}, {y:g}, {w:g} x {h:g} px) lies outside the {width}x{height} image"
        )
    return x0, y0, x1, y1
