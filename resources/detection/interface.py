"""What the data engine needs from a detector, and how checkpoints are stored.

A team plugs in its own model by subclassing `Detector` and registering it under a name;
everything downstream (training set → model → per-slice report) only calls this interface.
A checkpoint is `torch.save` of a plain dict (`{"detector": name, "state": det.state()}`)
holding tensors, numbers and strings, loaded with `weights_only=True`: never a pickled module.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

Progress = Callable[[int, int, float], None]  # (step, total steps, loss)


@dataclass(frozen=True)
class Detections:
    """One image's detections; boxes in pixels (x0, y0, x1, y1)."""

    boxes: np.ndarray  # (k, 4) float32
    classes: np.ndarray  # (k,) int64, index into the detector's classes
    scores: np.ndarray  # (k,) float32 in [0, 1]

    def __len__(self) -> int:
        return len(self.scores)


class Detector(ABC):
    """A trainable object detector over (N, H, W, 3) uint8 images."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def classes(self) -> tuple[str, ...]: ...

    @abstractmethod
    def fit(
        self,
        images: np.ndarray,
        targets: Sequence[np.ndarray],
        *,
        seed: int = 0,
        progress: Progress | None = None,
        weights: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Train on images with targets (k, 5): x0, y0, x1, y1, class index; `weights` (one
        positive number per image) say how often each is drawn. Returns a summary: `loss`
        (final), `seconds`, `images_per_second`, `epochs`, `steps`."""

    @abstractmethod
    def predict(self, images: np.ndarray, *, min_confidence: float = 0.05) -> list[Detections]:
        """Detections per image, scores >= min_confidence."""

    @abstractmethod
    def embed(self, images: np.ndarray) -> np.ndarray:
        """(N, D) float32 image embeddings, for similarity search and drift."""

    def predict_and_embed(
        self, images: np.ndarray, *, min_confidence: float = 0.05
    ) -> tuple[list[Detections], np.ndarray]:
        """`predict` and `embed` of the same images; a detector whose embedding comes from the
        same forward pass overrides this to run it once."""
        return self.predict(images, min_confidence=min_confidence), self.embed(images)

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the detector: config, weights (tensors), history."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict[str, Any]) -> Detector: ...


REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make a detector available to `make_detector` and checkpoints."""
    REGISTRY[cls.name] = cls
    return cls


def make_detector(name: str, **config: Any) -> Detector:
    try:
        cls = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise KeyError(f"no detector named {name!r}; registered: {known}") from None
    return cls(**config)


def save_checkpoint(detector: Detector) -> bytes:
    buffer = io.BytesIO()
    torch.save({"detector": detector.name, "state": detector.state()}, buffer)
    return buffer.getvalue()


def load_checkpoint(data: bytes) -> Detector:
    checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    name = checkpoint.get("detector")
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise KeyError(f"checkpoint is for detector {name!r}, not registered here ({known})")
    return REGISTRY[name].from_state(checkpoint["state"])
