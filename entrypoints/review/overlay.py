"""The model's boxes as the review page draws them: SVG geometry in image pixels.

The page lays an SVG with the image's own pixel size as its viewBox over the scaled-up PNG, so
boxes stay exact at any zoom; labels go above a box when there is room, else inside its top.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from resources.tables import CLASSES

LABEL_SCALE = 1 / 22  # label height as a share of the image width


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
    def short_label(self) -> str:
        """What the overlay writes next to the box (the legend below has the full name)."""
        return f"{self.cls.removesuffix('_cone')} {self.confidence:.2f}"

    @property
    def css_class(self) -> str:
        return f"box-{self.cls}" if self.cls in CLASSES else "box-other"

    def label_at(self, image_width: float, font: float) -> tuple[float, float, str]:
        """Where the label goes (x, baseline y, SVG text-anchor): above the box, or inside
        its top at the image's top edge; left-aligned, or right-aligned in the right half so
        it does not run off the image."""
        y = self.y - 1 if self.y >= font + 1 else self.y + font
        if self.x + self.width / 2 > image_width / 2:
            return round(self.x + self.width, 2), round(y, 2), "end"
        return self.x, round(y, 2), "start"


def font_size(image_width: int) -> float:
    return round(max(image_width * LABEL_SCALE, 1.0), 2)


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
