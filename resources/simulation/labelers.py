"""Simulated labelers: the only door to the fleet's ground truth, with human-like mistakes.

A labeler misses a box now and then, confuses a cone's colour, draws boxes a little off,
sometimes badly off, and may box a green tree as a green cone. Every mistake beyond the small
jitter is written to the batch's error log, so label-error mining can be scored exactly.
Noise is drawn per (labeler seed, batch, frame): a batch is reproducible, and labeling the
same frame again in another batch gives an independent set of mistakes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from resources.simulation.fleet import Fleet
from resources.tables import BOXES, LABELED_FRAMES, conform

ERRORS = pl.Schema(
    {
        "frame_id": pl.String,
        "kind": pl.String,  # missed | wrong_class | loose_box | spurious
        "true_cls": pl.String,  # what is there ("tree" for a spurious box)
        "labeled_cls": pl.String,  # what the labeler wrote (null when missed)
        "x0": pl.Float32,  # the true box
        "y0": pl.Float32,
        "x1": pl.Float32,
        "y1": pl.Float32,
    }
)
SWAP = {"orange_cone": "green_cone", "green_cone": "orange_cone"}


@dataclass(frozen=True)
class LabelNoise:
    miss_rate: float = 0.02  # per true box: not labeled
    wrong_class_rate: float = 0.01  # per true box: orange ↔ green
    jitter_px: float = 0.4  # per corner: Gaussian noise (not logged: it is how humans draw)
    loose_box_rate: float = 0.0  # per true box: drawn 30-60% too big and off-centre
    spurious_rate: float = 0.0  # per visible tree: boxed as a green cone
    delay_s: float = 0.0  # labeled_at = request time + delay


@dataclass(frozen=True)
class LabelBatch:
    frames: pl.DataFrame  # LABELED_FRAMES
    boxes: pl.DataFrame  # BOXES; a listed frame without boxes is a true negative
    errors: pl.DataFrame  # ERRORS: every injected mistake


class SimulatedLabelers:
    def __init__(
        self,
        fleet: Fleet,
        noise: LabelNoise | None = None,
        seed: int = 0,
        name: str = "sim-labelers",
    ):
        self.fleet = fleet
        self.noise = noise or LabelNoise()
        self.seed = seed
        self.name = name

    def label(
        self, frame_ids: Sequence[str], batch_id: str, *, requested_at: datetime | None = None
    ) -> LabelBatch:
        """Label `frame_ids` (unknown ids raise KeyError); `requested_at` defaults to now."""
        frame_ids = list(dict.fromkeys(frame_ids))
        n = self.noise
        size = float(self.fleet.config.image_size)
        truth = self.fleet.ground_truth(frame_ids)
        trees = self.fleet.confusers(frame_ids) if n.spurious_rate > 0 else truth.clear()
        truth_by_frame = _rows_by_frame(truth)
        trees_by_frame = _rows_by_frame(trees)
        boxes: list[tuple] = []
        errors: list[tuple] = []
        for fid in frame_ids:
            rng = np.random.default_rng(_key(self.seed, batch_id, fid))
            for x0, y0, x1, y1, cls in truth_by_frame.get(fid, []):
                u, box = rng.random(), np.array([x0, y0, x1, y1])
                if u < n.miss_rate:
                    errors.append((fid, "missed", cls, None, x0, y0, x1, y1))
                    continue
                labeled = cls
                if u < n.miss_rate + n.wrong_class_rate:
                    labeled = SWAP[cls]
                    errors.append((fid, "wrong_class", cls, labeled, x0, y0, x1, y1))
                drawn = box + rng.normal(0, n.jitter_px, 4)
                if rng.random() < n.loose_box_rate:
                    w, h = x1 - x0, y1 - y0
                    grow = rng.uniform(0.3, 0.6)
                    shift = rng.uniform(-0.25, 0.25, 2) * (w, h)
                    drawn = box + np.array([-w, -h, w, h]) * grow / 2 + np.tile(shift, 2)
                    errors.append((fid, "loose_box", cls, labeled, x0, y0, x1, y1))
                boxes.append((fid, *_fit(drawn, size), labeled))
            for x0, y0, x1, y1, _ in trees_by_frame.get(fid, []):
                if rng.random() < n.spurious_rate:
                    errors.append((fid, "spurious", "tree", "green_cone", x0, y0, x1, y1))
                    drawn = np.array([x0, y0, x1, y1]) + rng.normal(0, n.jitter_px, 4)
                    boxes.append((fid, *_fit(drawn, size), "green_cone"))
        at = (requested_at or datetime.now(UTC)) + timedelta(seconds=n.delay_s)
        frames = pl.DataFrame(
            {
                "frame_id": frame_ids,
                "batch_id": [batch_id] * len(frame_ids),
                "labeler": [self.name] * len(frame_ids),
                "labeled_at": [at] * len(frame_ids),
            },
            schema=LABELED_FRAMES,
        )
        return LabelBatch(
            frames=frames,
            boxes=conform(pl.DataFrame(boxes, schema=BOXES, orient="row"), BOXES),
            errors=pl.DataFrame(errors, schema=ERRORS, orient="row"),
        )


def _rows_by_frame(boxes: pl.DataFrame) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for fid, *rest in boxes.select("frame_id", "x0", "y0", "x1", "y1", "cls").iter_rows():
        rows.setdefault(fid, []).append(tuple(rest))
    return rows


def _fit(box: np.ndarray, size: float) -> tuple[float, float, float, float]:
    """A drawn box kept inside the image and at least one pixel wide and high."""
    x0, y0, x1, y1 = np.clip(box, 0, size)
    x0, y0 = min(x0, size - 1), min(y0, size - 1)
    return float(x0), float(y0), float(max(x1, x0 + 1)), float(max(y1, y0 + 1))


def _key(seed: int, batch_id: str, frame_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}/{batch_id}/{frame_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest)
