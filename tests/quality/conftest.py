"""Small, valid tables for the quality suites; tests break them one way at a time."""

from __future__ import annotations

import polars as pl
import pytest

from tests.quality.outcomes import FRAME_IDS


@pytest.fixture
def labels() -> pl.DataFrame:
    """Two boxes per frame for 30 frames; every third frame's second box is a green cone."""
    rows = []
    for i, frame_id in enumerate(FRAME_IDS[:30]):
        green = i % 3 == 0
        rows.append((frame_id, 10.0 + i, 20.0, 60.0 + i, 90.0, "orange_cone"))
        rows.append(
            (frame_id, 300.0, 200.0 + i, 340.0, 260.0 + i, "green_cone" if green else "orange_cone")
        )
    return pl.DataFrame(rows, schema=["frame_id", "x0", "y0", "x1", "y1", "cls"], orient="row")


@pytest.fixture
def manifest() -> pl.DataFrame:
    """24 train and 6 eval frames, disjoint."""
    return pl.DataFrame({"frame_id": FRAME_IDS[:30], "split": ["train"] * 24 + ["eval"] * 6})


@pytest.fixture
def bad_inputs(request):
    """Count the bad inputs a test saw refused (`bench/faults_input.py`)."""
    from tests.catalog.faults import counter

    return counter(request, "bad_inputs")
