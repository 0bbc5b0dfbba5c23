"""A team's own detector plugs in by name and round-trips through checkpoints."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
import torch

from resources.detection import (
    REGISTRY,
    Detections,
    Detector,
    decode_images,
    load_checkpoint,
    make_detector,
    predictions_table,
    register,
    save_checkpoint,
    targets_from_boxes,
)
from resources.simulation.png import encode_png
from resources.tables import BOXES, PREDICTIONS


class BrightSpot(Detector):
    """Finds the brightest pixel; proves the interface, not a model."""

    name = "bright_spot"

    def __init__(self, size: float = 4.0):
        self.size = torch.tensor(size)

    @property
    def classes(self):
        return ("orange_cone",)

    def fit(self, images, targets, *, seed=0, progress=None):
        self.size = torch.tensor(float(np.mean([t[:, 3] - t[:, 1] for t in targets if len(t)])))
        return {"loss": 0.0, "seconds": 0.0, "images_per_second": 0.0, "epochs": 1.0}

    def predict(self, images, *, min_confidence=0.05):
        out = []
        for image in images:
            y, x = np.unravel_index(image.sum(axis=2).argmax(), image.shape[:2])
            half = float(self.size) / 2
            box = np.array([[x - half, y - half, x + half, y + half]], np.float32)
            out.append(Detections(box, np.zeros(1, np.int64), np.ones(1, np.float32)))
        return out

    def embed(self, images):
        return images.reshape(len(images), -1).mean(axis=1, keepdims=True).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {"size": self.size}

    @classmethod
    def from_state(cls, state):
        return cls(float(state["size"]))


@pytest.fixture
def plugged():
    register(BrightSpot)
    yield
    REGISTRY.pop("bright_spot", None)


def test_a_registered_detector_is_made_by_name_and_checkpointed(plugged):
    det = make_detector("bright_spot", size=6.0)
    images = np.zeros((2, 32, 32, 3), np.uint8)
    images[0, 10, 20] = 255
    det.fit(images, [np.array([[0, 0, 8, 8, 0]], np.float32), np.zeros((0, 5), np.float32)])
    again = load_checkpoint(save_checkpoint(det))
    assert isinstance(again, BrightSpot) and float(again.size) == 8.0
    assert again.predict(images)[0].boxes.tolist() == [[16.0, 6.0, 24.0, 14.0]]


def test_a_checkpoint_of_an_unknown_detector_says_so(plugged):
    data = save_checkpoint(BrightSpot())
    REGISTRY.pop("bright_spot")
    with pytest.raises(KeyError, match="bright_spot"):
        load_checkpoint(data)


def test_table_helpers():
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    decoded = decode_images([encode_png(i) for i in images])
    np.testing.assert_array_equal(decoded, images)
    boxes = pl.DataFrame(
        [
            ("b", 1.0, 2.0, 3.0, 4.0, "green_cone"),
            ("a", 5.0, 6.0, 7.0, 8.0, "orange_cone"),
            ("a", 0.0, 0.0, 1.0, 1.0, "tree"),  # not a class the detector knows: ignored
            ("z", 0.0, 0.0, 1.0, 1.0, "orange_cone"),  # not asked for
        ],
        schema=BOXES,
        orient="row",
    )
    targets = targets_from_boxes(["a", "b", "c"], boxes, ("orange_cone", "green_cone"))
    assert [t.tolist() for t in targets] == [[[5, 6, 7, 8, 0]], [[1, 2, 3, 4, 1]], []]
    assert targets[2].shape == (0, 5)
    dets = [
        Detections(
            np.array([[1, 2, 3, 4]], np.float32), np.array([1]), np.array([0.5], np.float32)
        ),
        Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32)),
    ]
    table = predictions_table(["a", "b"], dets, ("orange_cone", "green_cone"))
    assert table.schema == PREDICTIONS
    assert table.rows() == [("a", 1.0, 2.0, 3.0, 4.0, "green_cone", 0.5)]
    empty = predictions_table(["a"], dets[1:], ("orange_cone",))
    assert empty.schema == PREDICTIONS and empty.is_empty()
