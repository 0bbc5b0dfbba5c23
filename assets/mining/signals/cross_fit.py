"""Out-of-sample predictions on a labeled set, and the second detector that disagreement needs.

A model predicting on its own training frames has learned their labels, mistakes included, so
label-error mining wants each frame predicted by a model that never saw it: `cross_predictions`
splits the frames into folds (whole drives stay together: neighbouring frames of a drive are
near duplicates) and trains one model per fold on the others. `train_challenger` trains the
"differently trained" second opinion for disagreement: by default narrower, on a bootstrap
resample, with half the epochs, at a fraction of the production model's training cost.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from resources.tables import CLASSES


@dataclass(frozen=True)
class Challenger:
    """How the second detector differs from the production one."""

    width: int = 8  # ConeNet's first-layer channels (production: 16)
    epochs: int = 10  # production: 20
    bootstrap: bool = True  # train on a resample with replacement of the training frames
    seed: int = 1  # pick one the production model was not trained with


def train_challenger(
    images: np.ndarray,
    targets: Sequence[np.ndarray],
    challenger: Challenger | None = None,
    *,
    detector: str = "cone_net",
    **options,
):
    """A second detector trained on (a resample of) the production model's training data;
    returns (detector, fit summary with `seconds` and `cpu_seconds`)."""
    from resources.detection import make_detector  # torch: imported when used

    c = challenger or Challenger()
    rows = np.arange(len(images))
    if c.bootstrap:
        rows = np.random.default_rng(c.seed).integers(0, len(images), len(images))
    model = make_detector(detector, width=c.width, epochs=c.epochs, **options)
    cpu = time.process_time()
    summary = model.fit(images[rows], [targets[i] for i in rows], seed=c.seed)
    return model, {**summary, "cpu_seconds": time.process_time() - cpu, **asdict(c)}


def folds_by_drive(frame_ids: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """Fold index per frame; frames of one drive (`<drive>-<index>`) share a fold."""

    def fold(frame_id: str) -> int:
        drive = frame_id.rpartition("-")[0] or frame_id
        digest = hashlib.blake2b(f"{seed}:{drive}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) % folds

    return np.array([fold(f) for f in frame_ids], dtype=np.int64)


def cross_predictions(
    images: np.ndarray,
    frame_ids: Sequence[str],
    targets: Sequence[np.ndarray],
    *,
    folds: int = 2,
    seed: int = 0,
    min_confidence: float = 0.05,
    detector: str = "cone_net",
    classes: Sequence[str] = CLASSES,
    **options,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """`PREDICTIONS` for every frame by a model trained on the other folds; returns them and
    the cost (`seconds`, `cpu_seconds`, `folds`). `options` go to the detector (e.g. epochs)."""
    from resources.detection import make_detector, predictions_table  # torch: when used

    if folds < 2:
        raise ValueError("cross predictions need at least 2 folds")
    start, cpu = time.perf_counter(), time.process_time()
    fold = folds_by_drive(frame_ids, folds, seed)
    parts = []
    for k in range(folds):
        train, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if len(held) == 0:
            continue
        if len(train) == 0:
            raise ValueError(f"fold {k} holds every frame: too few drives for {folds} folds")
        model = make_detector(detector, **options)
        model.fit(images[train], [targets[i] for i in train], seed=seed + k)
        found = model.predict(images[held], min_confidence=min_confidence)
        parts.append(predictions_table([frame_ids[i] for i in held], found, classes))
    cost = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "folds": float(folds),
    }
    return pl.concat(parts), cost
