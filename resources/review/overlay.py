"""The model's boxes as the review page draws them: SVG geometry in image pixels.

The page lays an SVG with the image's own pixel size as its viewBox over the scaled-up PNG, so
boxes stay exact at any zoom; labels go above a box when there is room, else inside its top.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from resources.tables import CLASSES

LABEL_SCALE = 1 / 16  # label height as a share of the image width


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    cls: str
    confidence: float

    @property
    def label(self) -> str:
        return f"{self.cls} {self.confidence:.2f}"

    @property
    def css_class(self) -> str:
        return f"box-{self.cls}" if self.cls in CLASSES else "box-other"

    def label_y(self, font_size: float) -> float:
        """Baseline of the label: above the box, or just inside it at the image's top edge."""
        return self.y - 1 if self.y >= font_size + 1 else self.y + font_size


def font_size(image_width: int) -> float:
    return max(image_width * LABEL_SCALE, 1.0)


def boxes_by_frame(predictions: pl.DataFrame | None, min_confidence: float) -> dict[str, list[Box]]:
    """Each frame's predicted boxes at or above `min_confidence`, most confident first."""
    if predictions is None or predictions.is_empty():
        return {}
    kept = predictions.filter(pl.col("confidence") >= min_confidence).sort(
        "confidence", descending=True
    )
    out: dict[str, list[Box]] = {}
    for row in kept.iter_rows(named=True):
        x0, y0, x1, y1 = (round(float(row[k]), 2) for k in ("x0", "y0", "x1", "y1"))
        box = Box(x0, y0, round(x1 - x0, 2), round(y1 - y0, 2), row["cls"], row["confidence"])
        out.setdefault(row["frame_id"], []).append(box)
    return out
