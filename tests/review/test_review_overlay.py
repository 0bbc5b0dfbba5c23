"""Box geometry of the overlay: thresholds, order, and labels that stay on the image."""

from __future__ import annotations

import polars as pl

from entrypoints.review.overlay import Box, boxes_by_frame, font_size
from resources.tables import PREDICTIONS, conform


def test_boxes_by_frame_keeps_confident_boxes_most_confident_first():
    predictions = conform(
        pl.DataFrame(
            {
                "frame_id": ["a", "a", "a", "b"],
                "x0": [1.0, 2.0, 3.0, 4.0],
                "y0": [10.0, 10.0, 10.0, 10.0],
                "x1": [5.0, 6.0, 7.123456, 8.0],
                "y1": [20.0, 20.0, 20.0, 20.0],
                "cls": ["orange_cone", "green_cone", "tree", "orange_cone"],
                "confidence": [0.6, 0.2, 0.9, 0.4],
            }
        ),
        PREDICTIONS,
    )
    shown = boxes_by_frame(predictions, 0.5)
    assert list(shown) == ["a"]
    assert [(b.cls, b.css_class) for b in shown["a"]] == [
        ("tree", "box-other"),
        ("orange_cone", "box-orange_cone"),
    ]
    assert shown["a"][0].width == 4.12 and shown["a"][0].short_label == "tree 0.90"
    assert boxes_by_frame(None, 0.5) == {} and len(boxes_by_frame(predictions, 0.0)) == 2


def test_labels_stay_on_the_image():
    font = font_size(64)
    left_low = Box(2, 30, 5, 8, "green_cone", 0.9)
    assert left_low.label_at(64, font) == (2, 29, "start")  # above the box, left-aligned
    right_top = Box(55, 0.5, 8, 8, "orange_cone", 0.9)
    x, y, anchor = right_top.label_at(64, font)
    assert (x, anchor) == (63, "end") and y > right_top.y  # inside the box, right-aligned
