"""The shipped detector: ConeNet behind the `Detector` interface, registered as "cone_net"."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from resources.detection.cone_net import ConeNet, ConeNetConfig
from resources.detection.interface import Detections, Detector, Progress, register
from resources.detection.train import (
    TrainConfig,
    detect,
    device,
    embed,
    embedding_matrix,
    train,
)
from resources.tables import CLASSES


@register
class ConeNetDetector(Detector):
    name = "cone_net"

    def __init__(
        self,
        *,
        image_size: int = 64,
        classes: Sequence[str] = CLASSES,
        width: int = 16,
        train: TrainConfig | dict[str, Any] | None = None,
        **train_options: Any,
    ):
        """`train_options` override single `TrainConfig` fields, e.g. `epochs=10`."""
        self.config = ConeNetConfig(image_size=image_size, classes=tuple(classes), width=width)
        if isinstance(train, dict):
            train = TrainConfig(**train)
        self.train_config = dataclasses.replace(train or TrainConfig(), **train_options)
        self.history: dict[str, float] = {}
        self.model = self._build(seed=0)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.classes

    def fit(
        self,
        images: np.ndarray,
        targets: Sequence[np.ndarray],
        *,
        seed: int = 0,
        progress: Progress | None = None,
        weights: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Train from freshly initialised weights (seeded), so a fit depends only on its data."""
        _check_images(images, self.config.image_size)
        self.model = self._build(seed)
        self.history = train(
            self.model,
            images,
            targets,
            self.train_config,
            seed=seed,
            progress=progress,
            weights=weights,
        )
        return dict(self.history)

    def predict(self, images: np.ndarray, *, min_confidence: float = 0.05) -> list[Detections]:
        _check_images(images, self.config.image_size)
        return detect(self.model, images, min_confidence=min_confidence)

    def embed(self, images: np.ndarray) -> np.ndarray:
        _check_images(images, self.config.image_size)
        return embed(self.model, images)

    def predict_and_embed(
        self, images: np.ndarray, *, min_confidence: float = 0.05
    ) -> tuple[list[Detections], np.ndarray]:
        _check_images(images, self.config.image_size)
        vectors: list[np.ndarray] = []
        detections = detect(self.model, images, min_confidence=min_confidence, embeddings=vectors)
        return detections, embedding_matrix(vectors, self.config.width)

    def state(self) -> dict[str, Any]:
        config = dataclasses.asdict(self.config)
        config["classes"] = list(self.config.classes)
        return {
            "config": config,
            "train": dataclasses.asdict(self.train_config),
            "weights": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "history": dict(self.history),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConeNetDetector:
        config = dict(state["config"])
        config.pop("stride", None)
        detector = cls(**config, train=dict(state["train"]))
        detector.model.load_state_dict(state["weights"])
        detector.model.eval()
        detector.history = dict(state.get("history", {}))
        return detector

    def _build(self, seed: int) -> ConeNet:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = ConeNet(self.config)
        model = model.to(device()).to(memory_format=torch.channels_last)
        return model.eval()


def _check_images(images: np.ndarray, size: int) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ValueError(
            f"expected (N, {size}, {size}, 3) uint8 images, got {images.dtype} {images.shape}"
        )
