"""The registry of failure-finding signals: one entry per signal, named once.

A signal scores fleet frames, higher = more worth a look, from one of three sources:

- `fleet`: computed per drive partition by `fleet_signals` from the deployed model's
  detections (and its challenger's), stored as a column of `predictions/fleet/signals/`;
- `predictions`: computed from the fleet detections when a slice is cut (a metadata slice
  ranks its frames by one);
- `training`: computed over the deployed model's own training frames (label errors).

Adding a signal is one function in its own module plus one entry here; a slice naming a
signal that is not registered fails when the definitions load (`check_signal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from assets.mining.signals.disagreement import disagreement
from assets.mining.signals.flicker import flicker
from assets.mining.signals.low_confidence import low_confidence
from assets.slices.signals import green_cone_score, uncertainty

SOURCES = ("fleet", "predictions", "training")


@dataclass(frozen=True)
class DriveInputs:
    """What a `fleet` signal sees of one drive: its frames (metadata), the deployed model's
    detections and, when the model has one, its challenger's detections."""

    frames: pl.DataFrame
    predictions: pl.DataFrame
    challenger: pl.DataFrame | None


@dataclass(frozen=True)
class Signal:
    name: str
    source: str
    description: str
    # fleet: DriveInputs -> (frame_id, score) or None when it cannot be scored (no challenger);
    # predictions: (predictions, frame_ids=None) -> (frame_id, score); training: see label_review
    score: Callable | None = None


def _low_confidence(d: DriveInputs) -> pl.DataFrame:
    return low_confidence(d.predictions, d.frames.get_column("frame_id").to_list())


def _flicker(d: DriveInputs) -> pl.DataFrame:
    return flicker(d.predictions, d.frames)


def _disagreement(d: DriveInputs) -> pl.DataFrame | None:
    if d.challenger is None:
        return None
    return disagreement(d.predictions, d.challenger, d.frames.get_column("frame_id").to_list())


SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal(
            "low_confidence",
            "fleet",
            "detections in the deployed model's uncertain band",
            _low_confidence,
        ),
        Signal(
            "disagreement",
            "fleet",
            "the deployed model and its challenger see different things",
            _disagreement,
        ),
        Signal(
            "flicker",
            "fleet",
            "a detection appears or vanishes for one frame of its drive (ego-motion tracked)",
            _flicker,
        ),
        Signal(
            "green_cone_score",
            "predictions",
            "the deployed model's highest green-cone confidence in the frame",
            green_cone_score,
        ),
        Signal(
            "uncertainty",
            "predictions",
            "entropy of the deployed model's detections in the uncertain band",
            uncertainty,
        ),
        Signal(
            "label_error",
            "training",
            "a training label the deployed model contradicts (confident learning)",
        ),
    )
}

FLEET_SIGNALS: tuple[str, ...] = tuple(n for n, s in SIGNALS.items() if s.source == "fleet")
# `predictions/fleet/signals/<drive>.parquet`: one score column per fleet signal
SIGNAL_TABLE = pl.Schema({"frame_id": pl.String, **{n: pl.Float32 for n in FLEET_SIGNALS}})


def check_signal(name: str, *, sources: tuple[str, ...] = SOURCES, user: str = "") -> Signal:
    """The registered signal `name`; a clear error naming `user` (a slice) when there is none
    or it comes from a source `user` cannot read."""
    signal = SIGNALS.get(name)
    where = f"{user}: " if user else ""
    if signal is None:
        raise ValueError(
            f"{where}unknown signal {name!r}; registered: {', '.join(sorted(SIGNALS))} "
            "(assets/mining/registry.py)"
        )
    if signal.source not in sources:
        raise ValueError(
            f"{where}signal {name!r} comes from {signal.source!r}; this needs one of "
            f"{', '.join(sources)}"
        )
    return signal
